"""Decimal digits in every script: read any of them as 0-9, write 0-9 in the one a reader expects.

The one owner of digit conversion: the consent keywords, the triage answer parser and the
workspace's number and date display all go through here."""

from __future__ import annotations

import unicodedata

# CLDR numbering-system names.
LATN = "latn"  # 0123456789
ARABEXT = "arabext"  # Persian ۰۱۲۳۴۵۶۷۸۹ (not the Arabic-Indic ٠١٢٣٤٥٦٧٨٩ of Arabic)
KHMR = "khmr"  # Khmer ០១២៣៤៥៦៧៨៩
KNDA = "knda"  # Kannada ೦೧೨೩೪೫೬೭೮೯

ZEROS = {LATN: "0", ARABEXT: "\u06f0", KHMR: "\u17e0", KNDA: "\u0ce6"}
SYSTEMS = tuple(ZEROS)

# str.translate tables, built once: writing digits is on the queue's hot path (50 rows a page).
_TO_SYSTEM = {
    system: str.maketrans("0123456789", "".join(chr(ord(zero) + i) for i in range(10)))
    for system, zero in ZEROS.items()
    if system != LATN
}


def to_ascii(text: str) -> str:
    """Every script's decimal digits (Persian ۲, Arabic-Indic ٢, Khmer ២, Kannada ೨ ...) as 0-9."""
    if text.isascii():
        return text
    return "".join(str(d) if (d := unicodedata.decimal(ch, None)) is not None else ch for ch in text)


def write(text: str, system: str) -> str:
    """`text` with its 0-9 written in `system` ('latn', or an unknown name, leaves it as it is).

    Only for text the desk wrote (counts, ids, dates), never for what a customer or agent typed."""
    table = _TO_SYSTEM.get(system)
    return text.translate(table) if table is not None else text
