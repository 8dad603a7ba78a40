"""Numbers and dates as the agent reads them: their digits, their calendar, their time zone.

What each UI language expects when the agent chose nothing (AgentProfile.digits and .calendar
choose otherwise; `helpdesk.middleware.AgentLocalFormatMiddleware` sets both, and the zone, for
each request):
- Persian: Persian digits (۰–۹) and the Solar Hijri calendar, the country's civil calendar;
  Gregorian and ASCII digits on request.
- Khmer: Khmer digits (០–៩), which Cambodian print, forms and signage use; ASCII on request.
- Kannada: ASCII digits. Kannada digits (೦–೯) exist but everyday print, banking and phones in
  Karnataka use 0–9 (CLDR's default for kn is latn too), so they are offered, not forced.
- English: ASCII and Gregorian.

Only what the desk writes is localized (counts, ticket numbers, dates, durations). What people
typed, and every machine-read value (form inputs, URLs, ids, `<time datetime>`), stays ASCII.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache

import jdatetime
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language

from helpdesk import digits

GREGORIAN = "gregorian"
SOLAR_HIJRI = "solar_hijri"
CALENDARS = (GREGORIAN, SOLAR_HIJRI)
# Digit preferences: "" is the language's default; "native" its own script's; "latin" 0-9.
NATIVE = "native"
LATIN = "latin"

LANGUAGE_DIGITS = {"fa": digits.ARABEXT, "km": digits.KHMR}
NATIVE_DIGITS = {"fa": digits.ARABEXT, "km": digits.KHMR, "kn": digits.KNDA}
LANGUAGE_CALENDAR = {"fa": SOLAR_HIJRI}
# Separators (CLDR): with Persian digits ٬ and ٫ (U+066C, U+066B; Django's fa formats give a
# comma and no grouping at all); in Khmer a point for thousands, a comma for decimals.
GROUP_SEPARATOR = {digits.ARABEXT: "\u066c", "km": "."}
DECIMAL_SEPARATOR = {digits.ARABEXT: "\u066b", "km": ","}

# A ContextVar, not asgiref's Local: read a few times per queue row, 33 ns a read against 3.5 us.
_choice: ContextVar[tuple[str, str]] = ContextVar("localformat_choice", default=("", ""))


@contextmanager
def override(*, digits: str = "", calendar: str = "") -> Iterator[None]:
    """Within the block, write numbers with these preferences ("" = the language's default)."""
    token = _choice.set((digits, calendar))
    try:
        yield
    finally:
        _choice.reset(token)


def _reader(language: str | None = None) -> tuple[str, str, str]:
    """(language, numbering system, calendar) for the reader now."""
    language = language or get_language() or "en"
    digit_choice, calendar_choice = _choice.get()
    if digit_choice == LATIN:
        system = digits.LATN
    elif digit_choice == NATIVE:
        system = NATIVE_DIGITS.get(language, digits.LATN)
    else:
        system = LANGUAGE_DIGITS.get(language, digits.LATN)
    if calendar_choice not in CALENDARS:
        calendar_choice = LANGUAGE_CALENDAR.get(language, GREGORIAN)
    return language, system, calendar_choice


def digit_system(language: str | None = None) -> str:
    """The CLDR numbering system ('latn', 'arabext', 'khmr', 'knda') the reader expects now."""
    return _reader(language)[1]


def calendar(language: str | None = None) -> str:
    """'solar_hijri' or 'gregorian': the calendar the reader expects now."""
    return _reader(language)[2]


def localize_digits(value: object) -> str:
    """`value` as text with the reader's digits: '#1042' is '#۱۰۴۲' in Persian."""
    return digits.write(str(value), _reader()[1])


def format_number(value: int | float, places: int = 0) -> str:
    """A number grouped as the language groups it, `places` decimals, in the reader's digits:
    12,345.50 / ۱۲٬۳۴۵٫۵۰ / ១២.៣៤៥,៥០ / 12,34,567 (Kannada, like all Indian languages, groups lakhs)."""
    language, system, _ = _reader()
    style = system if system in GROUP_SEPARATOR else language
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):.{places}f}".partition(".")
    if language == "kn" and len(whole) > 3:
        head = whole[:-3]
        pairs = [head[max(i - 2, 0) : i] for i in range(len(head), 0, -2)][::-1]
        whole = ",".join([*pairs, whole[-3:]])
    else:
        whole = f"{int(whole):,}".replace(",", GROUP_SEPARATOR.get(style, ","))
    text = sign + whole + (DECIMAL_SEPARATOR.get(style, ".") + fraction if fraction else "")
    return digits.write(text, system)


@lru_cache(maxsize=1)
def available_time_zones() -> tuple[str, ...]:
    """IANA zone names, sorted: what an agent or a customer may choose (read from disk once)."""
    return tuple(sorted(zoneinfo.available_timezones()))


FORMATS = ("DATETIME", "DATE", "SHORT_DATETIME", "SHORT_DATE", "TIME")


def format_datetime(value: datetime | date, fmt: str = "DATETIME") -> str:
    """`value` in the agent's zone and calendar, in the language's `fmt` (one of FORMATS)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    language, system, calendar = _reader()
    # tzinfo is part of the key: two aware datetimes at the same instant are equal (and hash
    # alike) whatever their zone.
    return _format_datetime(value, getattr(value, "tzinfo", None), fmt, language, system, calendar)


@lru_cache(maxsize=8192)
def _format_datetime(value, tzinfo, fmt: str, language: str, system: str, calendar: str) -> str:
    # Cached: a polled queue shows the same 50 SLA times every few seconds; a miss costs ~30 us.
    pattern = get_format(f"{fmt}_FORMAT", lang=language)
    if calendar == SOLAR_HIJRI:
        text = _format_solar_hijri(value, pattern, language)
    else:
        text = dateformat.format(value, pattern)
    return digits.write(text, system)


def time_element(value: datetime | date | None, fmt: str = "DATETIME") -> SafeString:
    """`<time datetime="ISO 8601">` (ASCII, for machines) around the localized text (for people)."""
    if value is None:
        return SafeString("")
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_html('<time datetime="{}">{}</time>', value.isoformat(), format_datetime(value, fmt))


# --- Solar Hijri -------------------------------------------------------------------------------
# Each language keeps its own Django pattern (fa "j F Y، ساعت G:i", en "N j, Y, P"): its date
# letters take the Jalali day, month and year, every other letter (time, weekday) is Django's.

_DATE_LETTERS = frozenset("djnmFNMbEYy")
_FORMAT_LETTERS = frozenset("aAbcdDeEfFgGhHiIjlLmMnNoOPrsStTuUwWyYzZ")


@lru_cache(maxsize=64)
def _pattern_parts(pattern: str) -> tuple[tuple[str, str], ...]:
    """The pattern as ("date" | "django" | "text", piece); a backslash escape is text."""
    parts: list[tuple[str, str]] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            parts.append(("text", next(chars, "")))
        elif ch in _DATE_LETTERS:
            parts.append(("date", ch))
        elif ch in _FORMAT_LETTERS:
            parts.append(("django", ch))
        else:
            parts.append(("text", ch))
    return tuple(parts)


@lru_cache(maxsize=4096)
def _jalali(day: date) -> tuple[int, int, int]:
    # Dates on one page repeat (a queue's SLA times fall on a few days): convert each once.
    j = jdatetime.date.fromgregorian(date=day)
    return j.year, j.month, j.day


def _format_solar_hijri(value: date, pattern: str, language: str) -> str:
    year, month, day = _jalali(value.date() if isinstance(value, datetime) else value)
    name = (jdatetime.date.j_months_fa if language == "fa" else jdatetime.date.j_months_en)[month - 1]
    jalali = {
        "d": f"{day:02d}",
        "j": str(day),
        "m": f"{month:02d}",
        "n": str(month),
        "Y": str(year),
        "y": f"{year % 100:02d}",
        # Persian has no short month names; the long one stands for every month letter.
        **dict.fromkeys("FNMbE", name),
    }
    django_format = None
    out = []
    for kind, piece in _pattern_parts(pattern):
        if kind == "date":
            out.append(jalali[piece])
        elif kind == "django":
            django_format = django_format or dateformat.DateFormat(value)
            out.append(str(getattr(django_format, piece)()))
        else:
            out.append(piece)
    return "".join(out)
