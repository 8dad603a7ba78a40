"""How many SMS segments a text costs, per GSM 03.38 and Twilio's rules.

GSM-7: 160 septets in one segment, 153 per segment when concatenated; extension-table characters
take two septets and an escape never straddles a segment boundary. Anything outside GSM-7 makes
the whole message UCS-2: 70 UTF-16 code units, 67 per concatenated segment, and a surrogate pair
(emoji) is never split. static/sms/segments.js mirrors this exactly; tests check they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM_BASIC)
_EXTENDED = frozenset(GSM_EXTENDED)


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # what a person counts: code points
    segments: int
    per_segment: int  # capacity of each segment in this message (160/153 septets, 70/67 code units)
    units: int = 0  # septets (GSM-7) or UTF-16 code units (UCS-2)


def _pack(sizes: list[int], single: int, multi: int) -> tuple[int, int]:
    """Count segments for units of the given sizes, never splitting one unit across two."""
    total = sum(sizes)
    if total <= single:
        return (1 if total else 0), single
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments, multi


def count_segments(text: str) -> SegmentInfo:
    if all(ch in _BASIC or ch in _EXTENDED for ch in text):
        sizes = [2 if ch in _EXTENDED else 1 for ch in text]
        segments, per = _pack(sizes, 160, 153)
        return SegmentInfo("GSM-7", len(text), segments, per, sum(sizes))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    segments, per = _pack(sizes, 70, 67)
    return SegmentInfo("UCS-2", len(text), segments, per, sum(sizes))
