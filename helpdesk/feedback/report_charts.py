"""The survey report's charts (helpdesk.charts): CSAT by channel, queue and agent; weekly trend."""

from __future__ import annotations

from django.utils.translation import gettext as _

from helpdesk import charts, localformat
from helpdesk.feedback.reports import Row


def _channel_label(name: str) -> str:
    from channels_app.base import channel_spec

    spec = channel_spec(name)
    return str(spec.label) if spec else name


def _csat_bars(
    rows: list[Row], *, label_of=lambda row: row.label, css=lambda row: "bar-primary"
) -> list[charts.Bar]:
    return [
        charts.Bar(label_of(row) or "—", (row.csat or 0) * 100, charts.percent(row.csat), css(row))
        for row in rows
        if row.csat_answers
    ]


def charts_for(data: dict) -> dict[str, charts.Chart]:
    groups = data["groups"]
    out = {
        "channel": charts.bar_chart(
            title=_("Satisfied (4 or 5 of 5) by channel"),
            bars=_csat_bars(groups["channel"], label_of=lambda r: _channel_label(str(r.key)),
                            css=lambda r: f"series-{r.key}"),
            head=_("Channel"), value_head=_("CSAT"),
        ),
        "queue": charts.bar_chart(
            title=_("Satisfied by queue"), bars=_csat_bars(groups["queue"]),
            head=_("Queue"), value_head=_("CSAT"),
        ),
        "agent": charts.bar_chart(
            title=_("Satisfied by agent"),
            bars=_csat_bars(groups["agent"], label_of=lambda r: r.label or _("Nobody")),
            head=_("Agent"), value_head=_("CSAT"),
        ),
    }  # fmt: skip
    weeks = groups["week"]
    out["week"] = charts.column_chart(
        title=_("Answers per week: satisfied and not"),
        columns=[
            charts.Column(
                label=localformat.format_datetime(row.key, "SHORT_DATE") if row.key else "",
                tooltip=_("Week of %(day)s: CSAT %(csat)s") % {
                    "day": localformat.format_datetime(row.key, "DATE") if row.key else "",
                    "csat": charts.percent(row.csat),
                },
                values={"satisfied": row.satisfied, "other": row.csat_answers - row.satisfied},
            )
            for row in weeks
        ],
        series=[
            charts.Series("satisfied", _("Satisfied"), "bar-primary"),
            charts.Series("other", _("Not satisfied"), "bar-secondary"),
        ],
        head=_("Week"),
    )  # fmt: skip
    return out
