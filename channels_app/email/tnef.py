"""List the files inside a TNEF attachment (winmail.dat, Outlook's rich text wrapper).

Only names and sizes: agents see what the customer attached; the file itself stays downloadable.
TNEF is a signature, a key, then attributes (level byte, id, length, data, checksum).
"""

from __future__ import annotations

import struct
from typing import Any

SIGNATURE = 0x223E9F78
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACH_REND_DATA = 0x00069002
MAX_FILES = 100


def list_files(data: bytes) -> list[dict[str, Any]]:
    """[{filename, size}] of the attachments inside; [] for anything that is not TNEF."""
    if len(data) < 6 or struct.unpack_from("<I", data, 0)[0] != SIGNATURE:
        return []
    files: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    offset = 6
    while offset + 9 <= len(data) and len(files) < MAX_FILES:
        _level = data[offset]
        attribute, length = struct.unpack_from("<II", data, offset + 1)
        start = offset + 9
        value = data[start : start + length]
        offset = start + length + 2  # and the checksum
        if attribute == ATT_ATTACH_REND_DATA:
            current = {"filename": "", "size": 0}
            files.append(current)
        elif attribute == ATT_ATTACH_TITLE and current is not None:
            current["filename"] = value.split(b"\x00", 1)[0].decode("cp1252", "replace")[:200]
        elif attribute == ATT_ATTACH_DATA and current is not None:
            current["size"] = len(value)
    return [f for f in files if f["filename"] or f["size"]]
