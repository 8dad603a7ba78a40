"""The crisis dashboard: a manager's live view of one crisis (its panels refresh every 30 s)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _

from helpdesk import charts, localformat
from helpdesk.accounts.views import HtmxHttpRequest
from helpdesk.crisis import dashboard
from helpdesk.crisis.models import BroadcastStatus, Crisis, DeflectionKind
from helpdesk.crisis.views import manager_required
from helpdesk.tickets.models import Channel

HOUR_LABEL_EVERY = 6  # 48 hourly bars: a label under every sixth fits at phone widths too
REFRESH_SECONDS = 30
SMALL_CHART_WIDTH, SMALL_CHART_HEIGHT = 420, 200  # a chart in one card of the grid


@manager_required
def crisis_dashboard(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The dashboard page; over htmx, just its panels."""
    if request.htmx:
        return dashboard_panels(request, pk)
    crisis = get_object_or_404(Crisis, pk=pk)
    context = {"crisis": crisis, "refresh_seconds": REFRESH_SECONDS, **panels(crisis)}
    response = render(request, "crisis/dashboard.html", context)
    patch_cache_control(response, no_store=True)
    return response


@manager_required
def dashboard_panels(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The panels the page polls every 30 seconds."""
    crisis = get_object_or_404(Crisis, pk=pk)
    response = render(request, "crisis/partials/_dashboard_panels.html", {"crisis": crisis, **panels(crisis)})
    patch_cache_control(response, no_store=True)
    return response


def panels(crisis: Crisis) -> dict[str, object]:
    """The template's context: the selectors' numbers and the charts drawn from them."""
    now = timezone.now()
    data = dashboard.crisis_dashboard(crisis=crisis, now=now)
    return {
        "data": data,
        "now": now,
        "whole_crisis_in_window": data.since <= data.began_at,
        "contacts_chart": _contacts_chart(data.hourly),
        "channels_chart": _channels_chart(data.contacts_by_channel),
        "customers_chart": _customers_chart(data.customers),
        "severity_chart": _severity_chart(data.severities),
        "response_chart": _response_chart(data.response_times),
        "deflection_chart": _deflection_chart(data.deflection),
        "deflection_rate": charts.percent(data.deflection.rate),
        "broadcasts": [
            {
                "rates": b,
                "status": BroadcastStatus(b.status).label if b.status in BroadcastStatus.values else b.status,
                "delivery_rate": charts.percent(b.delivery_rate),
                "reply_rate": charts.percent(b.reply_rate, 1),
            }
            for b in data.broadcasts
        ],
    }


def _channel_label(channel: str) -> str:
    return str(Channel(channel).label) if channel in Channel.values else channel


def _hour_label(hour: datetime) -> str:
    return localformat.localize_digits(f"{timezone.localtime(hour):%H:%M}")


def _contacts_chart(hourly: dashboard.HourlyContacts) -> charts.Chart:
    series = [charts.Series(c, _channel_label(c), f"series-{c}") for c in hourly.channels]
    columns = [
        charts.Column(
            label=_hour_label(hour) if index % HOUR_LABEL_EVERY == 0 else "",
            tooltip=localformat.format_datetime(hour, "SHORT_DATETIME"),
            values={c: hourly.count(hour, c) for c in hourly.channels},
        )
        for index, hour in enumerate(hourly.hours)
    ]
    return charts.column_chart(
        title=_("Contacts per hour and channel"), columns=columns, series=series, head=_("Hour")
    )


def _channels_chart(by_channel: dict[str, int]) -> charts.Chart:
    bars = [
        charts.Bar(_channel_label(c), n, localformat.format_number(n), f"series-{c}")
        for c, n in by_channel.items()
    ]
    return charts.bar_chart(
        title=_("Contacts per channel"), bars=bars, head=_("Channel"), value_head=_("Contacts")
    )


def _customers_chart(mix: dashboard.CustomerMix) -> charts.Chart:
    bars = [
        charts.Bar(_("New customers"), mix.new, localformat.format_number(mix.new), "bar-primary"),
        charts.Bar(_("Repeat customers"), mix.repeat, localformat.format_number(mix.repeat), "bar-secondary"),
    ]
    return charts.bar_chart(
        title=_("New and repeat customers"), bars=bars, head=_("Customers"), value_head=_("Count")
    )


def _severity_chart(severities: dashboard.SeverityDistribution) -> charts.Chart:
    columns = [
        charts.Column(
            label=localformat.localize_digits(severity),
            tooltip=_("Severity %(n)s") % {"n": localformat.localize_digits(severity)},
            values={"runs": n},
            css_class=f"sev-{severity}",
        )
        for severity, n in severities.counts.items()
    ]
    return charts.column_chart(
        title=_("Triage severity"),
        columns=columns,
        series=[charts.Series("runs", _("Triage runs"), "bar-primary")],
        head=_("Severity"),
        value_head=_("Triage runs"),
        width=SMALL_CHART_WIDTH,
        height=SMALL_CHART_HEIGHT,
    )


def duration_text(seconds: float | None) -> str:
    """A response time as people say it: 45 s, 12 min, 3.5 h ('–' for none)."""
    if seconds is None:
        return "–"
    if seconds < 90:
        return _("%(n)s s") % {"n": localformat.format_number(round(seconds))}
    if seconds < 90 * 60:
        return _("%(n)s min") % {"n": localformat.format_number(round(seconds / 60))}
    return _("%(n)s h") % {"n": localformat.format_number(seconds / 3600, 1)}


def _response_chart(times: list[dashboard.ResponseTime]) -> charts.Chart:
    bars = []
    for t in times:
        label = _channel_label(t.channel)
        for name, value, css in (
            (_("median"), t.median_seconds, "bar-primary"),
            (_("90th percentile"), t.p90_seconds, "bar-secondary"),
        ):
            bars.append(charts.Bar(f"{label} · {name}", value or 0, duration_text(value), css))
    chart = charts.bar_chart(
        title=_("First response time per channel"), bars=bars, width=520, label_width=250
    )
    return replace(
        chart,
        table_head=[_("Channel"), _("Median"), _("90th percentile"), _("Answered"), _("Waiting")],
        table_rows=[
            [
                _channel_label(t.channel),
                duration_text(t.median_seconds),
                duration_text(t.p90_seconds),
                localformat.format_number(t.answered),
                localformat.format_number(t.waiting),
            ]
            for t in times
        ],
    )


def _deflection_chart(deflection: dashboard.DeflectionRate) -> charts.Chart:
    labels = dict(DeflectionKind.choices)
    bars = [
        charts.Bar(str(labels.get(kind, kind)), n, localformat.format_number(n), "bar-primary")
        for kind, n in sorted(deflection.by_kind.items(), key=lambda item: -item[1])
    ]
    return charts.bar_chart(
        title=_("Deflections by kind"), bars=bars, head=_("Kind"), value_head=_("Deflections")
    )
