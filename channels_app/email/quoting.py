"""Fold what a reply repeats: the quoted history below it and the sender's signature.

`split(text)` returns (what is new, the quoted history, the signature). The agent sees the new
text; the rest is one click away, and the raw message stays kept.
"""

from __future__ import annotations

import re

# Lines that start quoted history, in the languages our customers write (and their clients').
_HISTORY = re.compile(
    r"^\s*("
    r"on\b.{0,200}\bwrote:\s*$"
    r"|le\b.{0,200}\ba [ée]crit\s*:\s*$"
    r"|am\b.{0,200}\bschrieb.{0,60}:\s*$"
    r"|el\b.{0,200}\bescribi[óo]:\s*$"
    r"|.{0,200}(نوشت|كتب|wrote)\s*:\s*$"
    r"|-{2,}\s*(original message|forwarded message|پیام اصلی|الرسالة الأصلية)\s*-{2,}"
    r"|_{10,}\s*$"
    r"|begin forwarded message:"
    r")",
    re.IGNORECASE,
)
_OUTLOOK_HEADER = re.compile(r"^\s*(from|de|von|از)\s*:\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*(sent|date|to|subject|envoyé|gesendet|تاریخ)\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(r"^(--\s?|sent from my \w+.*|get outlook for \w+.*|ارسال شده از .*)$", re.IGNORECASE)


def split(text: str) -> tuple[str, str, str]:
    lines = (text or "").replace("\r\n", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if _HISTORY.match(line) or (
            _OUTLOOK_HEADER.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 4])
        ):
            cut = i
            break
    # A trailing block of "> " lines is history too, wherever it starts.
    end = cut
    while end > 0 and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if end < cut and any(line.startswith(">") for line in lines[end:cut]):
        cut = end
    new, quoted = lines[:cut], lines[cut:]
    signature: list[str] = []
    for i, line in enumerate(new):
        if _SIGNATURE.match(line.strip()) and i > 0:
            new, signature = new[:i], new[i:]
            break
    new_text = "\n".join(new).strip()
    if not new_text:  # nothing but history (a bare forward): show it all
        return (text or "").strip(), "", ""
    return new_text, "\n".join(quoted).strip(), "\n".join(signature).strip()
