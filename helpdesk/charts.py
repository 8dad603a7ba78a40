"""Server-rendered SVG charts for the crisis dashboard: no script, no chart library.

Every chart is an `<svg role="img">` with a `<title>` (its accessible name), a `<title>` on each
bar (the browser's tooltip) and the same numbers as a table for the `<details>` fallback the
template shows under it. Colours come from classes (`static/crisis/dashboard.css`): the CSP allows
no inline style, and a `style=` attribute inside SVG is inline style too.

Right to left: the layout is computed in logical coordinates (start, end) and mirrored for an RTL
language, so Persian hours run from right to left and bars grow leftwards from their labels; the
`direction` attribute makes `text-anchor` logical as well. Numbers are written by the caller or by
`helpdesk.localformat`, so they come out in the reader's digits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language_bidi

from helpdesk import localformat

_ids = itertools.count(1)

# Sizes in viewBox units (≈ CSS pixels: text is 12 units); the SVG scales to its container's
# width (dashboard.css), so a chart for a narrow card is drawn narrow, or its text would shrink.
COLUMN_CHART_WIDTH = 960
COLUMN_CHART_HEIGHT = 240
AXIS_WIDTH = 44  # room for the y axis' numbers, at the start side
LABEL_HEIGHT = 22  # room for the column labels under the plot
TOP_PAD = 10
AXIS_TICKS = 4
BAR_ROW_HEIGHT = 26
BAR_LABEL_WIDTH = 170  # Kannada and Khmer labels run longer than English ones
BAR_VALUE_WIDTH = 70
BAR_CHART_WIDTH = 440


@dataclass(frozen=True)
class Series:
    """One colour of a chart: its key in `Column.values`, its legend text, its CSS class."""

    key: str
    label: str
    css_class: str


@dataclass(frozen=True)
class Column:
    """One column (an hour, a severity): stacked values per series key, a label under it ('' for
    none: 48 hourly labels do not fit) and the longer text its tooltips say."""

    label: str
    tooltip: str
    values: dict[str, float]
    css_class: str = ""  # instead of the series' class: one colour per severity


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart; `value_text` is what is written after the bar."""

    label: str
    value: float
    value_text: str
    css_class: str = "bar-primary"


@dataclass(frozen=True)
class Chart:
    """What the template shows: the SVG, its legend, and its numbers as a table."""

    svg: SafeString
    title: str
    table_head: list[str]
    table_rows: list[list[str]]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (label, css class)


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is no whole (a rate of nothing is no rate, not 0 %)."""
    return part / whole if whole else None


def percent(ratio: float | None, places: int = 0) -> str:
    """A ratio (0.25) as the reader writes a percentage: 25%, ۲۵٪ in Persian; '–' for None."""
    if ratio is None:
        return "–"
    sign = "\u066a" if localformat.digit_system() == "arabext" else "%"
    return localformat.format_number(ratio * 100, places) + sign


def axis_step(largest: float, ticks: int = 4) -> int:
    """A whole, round step (1, 2, 5, 10, 25, 50 ...) so that `ticks` steps reach `largest`."""
    wanted = max(largest / ticks, 1)
    magnitude = 10 ** math.floor(math.log10(wanted))
    steps = (1, 2, 2.5, 5, 10) if magnitude >= 10 else (1, 2, 5, 10)
    return int(next(step * magnitude for step in steps if wanted <= step * magnitude))


class _Mirror:
    """Maps a logical x (0 at the start side) to the drawing's x for the reading direction."""

    def __init__(self, width: float, rtl: bool) -> None:
        self.width, self.rtl = width, rtl

    def x(self, x: float, w: float = 0) -> float:
        return self.width - x - w if self.rtl else x


def _svg(width: float, height: float, title: str, body: SafeString, rtl: bool, css: str) -> SafeString:
    title_id = f"chart-{next(_ids)}"
    return format_html(
        '<svg class="chart {}" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" direction="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}">{}</title>{}</svg>',
        css,
        _n(width),
        _n(height),
        title_id,
        "rtl" if rtl else "ltr",
        title_id,
        title,
        body,
    )


def _n(value: float) -> str:
    """A coordinate, short: 12 or 12.5 (ASCII: attributes are for the browser, not the reader)."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def column_chart(
    *,
    title: str,
    columns: Sequence[Column],
    series: Sequence[Series],
    number: Callable[[float], str] = localformat.format_number,
    rtl: bool | None = None,
    head: str = "",
    value_head: str = "",
    width: int = COLUMN_CHART_WIDTH,
    height: int = COLUMN_CHART_HEIGHT,
) -> Chart:
    """Vertical bars, stacked by series: contacts per hour and channel, or one bar per severity.

    `head` is the first column's heading in the data table ("Hour"); `value_head` the second's
    when there is one series (with several, each series is a column)."""
    rtl = get_language_bidi() if rtl is None else rtl
    plot_h = height - TOP_PAD - LABEL_HEIGHT
    plot_w = width - AXIS_WIDTH
    mirror = _Mirror(width, rtl)
    step = axis_step(max((sum(c.values.values()) for c in columns), default=0))
    top = step * AXIS_TICKS
    parts: list[SafeString] = []
    for i in range(AXIS_TICKS + 1):  # gridlines and the axis' numbers, 0 to the top
        tick = step * i
        y = TOP_PAD + plot_h - plot_h * i / AXIS_TICKS
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end" '
                'dominant-baseline="middle">{}</text>',
                _n(mirror.x(AXIS_WIDTH)),
                _n(mirror.x(width)),
                _n(y),
                _n(y),
                _n(mirror.x(AXIS_WIDTH - 6)),
                _n(y),
                number(tick),
            )
        )
    slot = plot_w / max(len(columns), 1)
    bar_w = max(slot * 0.72, 1.0)
    for index, column in enumerate(columns):
        x = AXIS_WIDTH + index * slot + (slot - bar_w) / 2
        y = TOP_PAD + plot_h
        for s in series:
            value = column.values.get(s.key, 0)
            if not value:
                continue
            h = plot_h * value / top
            y -= h
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
                    column.css_class or s.css_class,
                    _n(mirror.x(x, bar_w)),
                    _n(y),
                    _n(bar_w),
                    _n(h),
                    f"{column.tooltip} · {s.label}: {number(value)}" if len(series) > 1 else
                    f"{column.tooltip}: {number(value)}",
                )
            )  # fmt: skip
        if column.label:
            parts.append(
                format_html(
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _n(mirror.x(x + bar_w / 2)),
                    _n(height - 6),
                    column.label,
                )
            )
    parts.append(
        format_html(
            '<line class="chart-baseline" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            _n(mirror.x(AXIS_WIDTH)),
            _n(mirror.x(width)),
            _n(TOP_PAD + plot_h),
            _n(TOP_PAD + plot_h),
        )
    )
    svg = _svg(width, height, title, mark_safe("".join(parts)), rtl, "chart-columns")  # noqa: S308 - built by format_html
    multi = len(series) > 1
    rows = [
        [column.tooltip, *(number(column.values.get(s.key, 0)) for s in series)]
        for column in columns
        if any(column.values.values())
    ]
    return Chart(
        svg=svg,
        title=title,
        table_head=[head, *(s.label for s in series)] if multi else [head, value_head],
        table_rows=rows,
        legend=[(s.label, s.css_class) for s in series] if multi else [],
    )


def bar_chart(
    *,
    title: str,
    bars: Sequence[Bar],
    head: str = "",
    value_head: str = "",
    rtl: bool | None = None,
    width: int = BAR_CHART_WIDTH,
    label_width: int = BAR_LABEL_WIDTH,
) -> Chart:
    """Horizontal bars, one a row, label at the start and the value written after the bar."""
    rtl = get_language_bidi() if rtl is None else rtl
    height = max(len(bars), 1) * BAR_ROW_HEIGHT + 4
    mirror = _Mirror(width, rtl)
    track = width - label_width - BAR_VALUE_WIDTH
    top = max((b.value for b in bars), default=0) or 1
    parts: list[SafeString] = []
    for index, bar in enumerate(bars):
        y = 2 + index * BAR_ROW_HEIGHT
        w = max(track * bar.value / top, 1.0 if bar.value else 0.0)
        parts.append(
            format_html(
                '<g><title>{}: {}</title>'
                '<text class="chart-label" x="{}" y="{}" text-anchor="end" '
                'dominant-baseline="middle">{}</text>'
                '<rect class="chart-track" x="{}" y="{}" width="{}" height="{}"/>'
                '<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>'
                '<text class="chart-value" x="{}" y="{}" text-anchor="start" '
                'dominant-baseline="middle">{}</text></g>',
                bar.label, bar.value_text,
                _n(mirror.x(label_width - 8)), _n(y + BAR_ROW_HEIGHT / 2), bar.label,
                _n(mirror.x(label_width, track)), _n(y + 4), _n(track), _n(BAR_ROW_HEIGHT - 8),
                bar.css_class, _n(mirror.x(label_width, w)), _n(y + 4), _n(w), _n(BAR_ROW_HEIGHT - 8),
                _n(mirror.x(label_width + w + 6)), _n(y + BAR_ROW_HEIGHT / 2), bar.value_text,
            )
        )  # fmt: skip
    svg = _svg(width, height, title, mark_safe("".join(parts)), rtl, "chart-bars")  # noqa: S308 - built by format_html
    return Chart(
        svg=svg,
        title=title,
        table_head=[head, value_head],
        table_rows=[[b.label, b.value_text] for b in bars],
    )
