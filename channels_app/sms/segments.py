"""SMS segment counting by GSM 03.38 / Twilio's rules.

A message that fits the GSM-7 alphabet costs 160 septets in one segment, 153 per segment once
split (7 go to the concatenation header); extension characters (€ [ ] { } ~ ^ \\ | and form
feed) take two septets and are never split from their escape. Anything else — Persian, Khmer,
Kannada, emoji, even a no-break space — switches the whole message to UCS-2: 70 UTF-16 code
units in one segment, 67 per segment once split, and a surrogate pair (most emoji) is never
split across segments. Twice the segments means twice the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = set(GSM7_BASIC) - {"\x1b"}
_EXTENSION = set(GSM7_EXTENSION)


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # what a person counts: code points
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # capacity of each segment at this length


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def count_segments(text: str) -> SegmentInfo:
    """Return the encoding and number of segments Twilio bills for this body."""
    if is_gsm7(text):
        sizes = [2 if ch in _EXTENSION else 1 for ch in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
        single, multi, encoding = 70, 67, "UCS-2"
    units = sum(sizes)
    if units <= single:
        return SegmentInfo(encoding, len(text), units, 1 if text else 0, single)
    segments, used = 1, 0
    for size in sizes:  # fill greedily: an escape pair or surrogate pair never straddles two segments
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return SegmentInfo(encoding, len(text), units, segments, multi)
