"""The one rule for what search compares: stored text and typed queries both pass through it.

`normalize("مريم‌ كارت ۹۱۲")` == `normalize("مریم کارت 912")`: Arabic and Persian letter
variants fold to one letter, invisible format characters (ZWNJ, bidi marks, zero-width space,
which Khmer uses between words) and tatweel disappear, every script's decimal digits become
ASCII, case folds, diacritics (Latin accents, Arabic harakat and hamza) go, and punctuation
and symbols part words as spaces do. Khmer and
Kannada vowel signs and viramas are combining marks too, but they are letters of the word, not
decoration: they stay, or "ಕಾರ್ಡ್" (card) would match "ಕರಡ".

The result is stored beside the text (`search_text` columns, filled on save and in
`bulk_create`), so PostgreSQL's trigram index and SQLite's LIKE see the same normalized text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

from django.db import models
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Letter variants that writers use interchangeably (keyboard layouts differ: an Arabic layout
# types ي and ك, a Persian one ی and ک). Hamza and madda forms (أ إ آ ؤ ئ) need no entry: NFKD
# splits them into the base letter and a mark that the diacritic rule below drops.
LETTERS = str.maketrans(
    {
        "\u064a": "\u06cc",  # ي Arabic yeh → ی Persian yeh
        "\u0649": "\u06cc",  # ى alef maksura → ی
        "\u0643": "\u06a9",  # ك Arabic kaf → ک keheh
        "\u0629": "\u0647",  # ة teh marbuta → ه
        "\u06d5": "\u0647",  # ە ae (what NFKD leaves of ۀ) → ه
        "\u0671": "\u0627",  # ٱ alef wasla → ا
        "\u0640": None,  # tatweel: stretches a word, means nothing
    }
)
# Marks that decorate a letter rather than spell it: the Latin/Greek/Cyrillic accents NFKD splits
# off, Arabic harakat, hamza and madda above/below, superscript alef, Quranic annotation signs.
DIACRITIC_RANGES = ((0x0300, 0x036F), (0x064B, 0x065F), (0x0670, 0x0670), (0x06D6, 0x06ED))


def _is_diacritic(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in DIACRITIC_RANGES)


# A results page folds thousands of characters from a few alphabets: cached, one highlighted
# Persian message costs 79 µs instead of 391 (two a result, every search page).
@lru_cache(maxsize=8192)
def _fold(char: str) -> str:
    """What one character of the original becomes (often itself, sometimes nothing or two)."""
    if char.isascii():
        return char.lower() if char.isalnum() else " " if char.isspace() or _is_separator(char) else char
    out = []
    for part in unicodedata.normalize("NFKD", char):
        category = unicodedata.category(part)
        if _is_diacritic(part) or category == "Cf":  # ZWNJ, ZWJ, LRM, zero-width space...
            continue
        if part.isdecimal():
            out.append(str(unicodedata.decimal(part)))
        elif part.isspace() or category[0] in "PS":
            out.append(" ")
        else:
            out.append(part.casefold().translate(LETTERS))
    return "".join(out)


def _is_separator(char: str) -> bool:
    # Punctuation and symbols part words as spaces do ("Flood!" is the word "flood"), so a match
    # can be told whole; "+98 912" and "+98-912" both become "98 912".
    return unicodedata.category(char)[0] in "PS"


@dataclass(frozen=True)
class _Folded:
    text: str  # the normalized text, before the outer spaces are stripped
    origin: list[int]  # for each character of `text`, the index of the original it came from


def _folded(text: str) -> _Folded:
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in _fold(char):
            if folded == " " and (not chars or chars[-1] == " "):
                continue  # runs of spaces (and of what became spaces) count as one
            chars.append(folded)
            origin.append(index)
    return _Folded("".join(chars), origin)


def normalize(text: str) -> str:
    """Return the text as search compares it: folded letters and digits, words parted by single
    spaces."""
    return _folded(text).text.strip()


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Where the normalized query occurs in the text, as [start, end) indexes of the original."""
    needle = normalize(query)
    if not needle or not text:
        return []
    folded = _folded(text)
    spans: list[tuple[int, int]] = []
    start = folded.text.find(needle)
    while start != -1:
        end = start + len(needle)
        spans.append((folded.origin[start], folded.origin[end - 1] + 1))
        start = folded.text.find(needle, end)
    return spans


def highlight(text: str, query: str, *, width: int | None = None) -> SafeString:
    """The text with each match in <mark>, escaped first; `width` cuts a window around the first
    match (with … where text was left out)."""
    spans = match_spans(text, query)
    begin, finish = 0, len(text)
    if width is not None and len(text) > width:
        first = spans[0][0] if spans else 0
        begin = max(0, min(first - width // 4, len(text) - width))
        finish = begin + width
    parts = ["…" if begin > 0 else ""]
    cursor = begin
    for start, end in spans:
        if end <= begin or start >= finish:
            continue
        start, end = max(start, cursor), min(end, finish)
        parts.append(escape(text[cursor:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        cursor = end
    parts.append(escape(text[cursor:finish]))
    parts.append("…" if finish < len(text) else "")
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every piece of text was escaped above


# --- Keeping `search_text` current -----------------------------------------------------------


class SearchTextQuerySet(models.QuerySet):
    """Every ORM write path of a searchable model normalizes its source field, set-based ones too."""

    def _source(self) -> str:
        return self.model.SEARCH_SOURCE  # type: ignore[attr-defined]  # a SearchTextModel's manager

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for obj in objs:
            obj.fill_search_text()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if self._source() in fields:
            for obj in objs:
                obj.fill_search_text()
            fields = [*fields, "search_text"]
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        source = self._source()
        if source in kwargs and "search_text" not in kwargs:
            if not isinstance(kwargs[source], str):
                raise TypeError(
                    f"update({source}=...) needs a plain string: search_text is computed in Python"
                )
            kwargs["search_text"] = normalize(kwargs[source])
        return super().update(**kwargs)


class SearchTextModel(models.Model):
    """A model whose `SEARCH_SOURCE` field is searched through its normalized copy `search_text`."""

    SEARCH_SOURCE: ClassVar[str]

    search_text = models.TextField(blank=True, default="", editable=False)

    objects = SearchTextQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        self.fill_search_text()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and self.SEARCH_SOURCE in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def fill_search_text(self) -> None:
        self.search_text = normalize(getattr(self, self.SEARCH_SOURCE) or "")


# Rows normalized per UPDATE when a migration fills search_text for existing rows: one
# UPDATE … FROM (VALUES …) of 2,000 rows is a few milliseconds, a transaction per row is not.
BACKFILL_BATCH = 2_000


def backfill(model: type[models.Model], source: str) -> None:
    """Fill `search_text` from `source` for every existing row (migrations call this with their
    historical model), in id order and batches."""
    from helpdesk.bulkwrite import update_each

    last = 0
    while True:
        rows = list(
            model._default_manager.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", source)[:BACKFILL_BATCH]
        )
        if not rows:
            return
        update_each([model(pk=pk, search_text=normalize(text or "")) for pk, text in rows], ["search_text"])
        last = rows[-1][0]
