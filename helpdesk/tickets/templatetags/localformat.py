"""Numbers and dates as the agent reads them (helpdesk.localformat), for every template.

    {{ ticket.pk|localdigits }}            #1042 → ۱۰۴۲ in Persian
    {{ count|localnumber }}                12,345 → ۱۲٬۳۴۵ ({{ cost|localnumber:2 }}: ۱۲٫۵۰)
    {{ event.created_at|timetag }}         <time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵…</time>
    {{ customer.created_at|timetag:"SHORT_DATE" }}
    {{ crisis.starts_at|localdate:"SHORT_DATETIME" }}   the text alone (a title attribute, a sentence)
    {% filter localdigits %}{% blocktranslate count n=... %}...{% endblocktranslate %}{% endfilter %}

Only for what the desk writes: never for what people typed (a subject, a message, a phone
number), and never inside a form value, a URL or an id."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from helpdesk import localformat

register = template.Library()


@register.filter(is_safe=True)
def localdigits(value: object) -> str:
    """The value's 0-9 in the reader's digits; marked safe when the value was (no markup added)."""
    if value is None or value == "":
        return ""
    return localformat.localize_digits(value)


@register.filter(is_safe=True)
def localnumber(value: Any, places: int = 0) -> str:
    """A number grouped by thousands with `places` decimals, in the reader's digits ('' for a
    non-number): `{{ cost|localnumber:2 }}`."""
    try:
        return localformat.format_number(float(value) if places else int(value), int(places))
    except (TypeError, ValueError):
        return ""


@register.filter
def duration(value: object) -> str:
    """Seconds as the reader writes a duration: 45 s, 12 min, 3 h 20 min, 2 d 4 h; '–' for none."""
    from django.utils.translation import gettext as _

    if not isinstance(value, int | float):
        return "–"
    seconds = round(value)
    n = localformat.format_number
    if seconds < 60:
        return _("%(n)s s") % {"n": n(seconds)}
    if seconds < 3600:
        return _("%(n)s min") % {"n": n(round(seconds / 60))}
    if seconds < 86400:
        hours, minutes = divmod(round(seconds / 60), 60)
        return _("%(h)s h %(m)s min") % {"h": n(hours), "m": n(minutes)}
    days, hours = divmod(round(seconds / 3600), 24)
    return _("%(d)s d %(h)s h") % {"d": n(days), "h": n(hours)}


@register.filter
def percent(value: object) -> str:
    """A ratio (0.25) as the reader writes a percentage (25%, ۲۵٪); '–' when there is none."""
    from helpdesk.charts import percent as write_percent

    return write_percent(value if isinstance(value, int | float) else None)


@register.filter
def localdate(value: object, fmt: str = "DATETIME") -> str:
    """The date's text in the agent's zone, calendar and digits: fmt DATETIME, DATE, SHORT_DATE,
    SHORT_DATETIME or TIME."""
    if not value or fmt not in localformat.FORMATS:
        return ""
    return localformat.format_datetime(value, fmt)  # type: ignore[arg-type]


@register.filter
def timetag(value: object, fmt: str = "DATETIME") -> SafeString:
    """`<time datetime="ISO">` around `localdate`."""
    if not value or fmt not in localformat.FORMATS:
        return SafeString("")
    return localformat.time_element(value, fmt)  # type: ignore[arg-type]


@register.simple_tag
def digit_system() -> str:
    """The CLDR numbering system of the reader ('latn', 'arabext', 'khmr', 'knda'), for scripts
    that write numbers live: `<body data-digits="{% digit_system %}">`."""
    return localformat.digit_system()
