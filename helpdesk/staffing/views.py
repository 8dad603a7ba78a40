"""The managers' reports page and staffing plan, with CSV exports and the history import."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

from django.contrib import messages as messages_framework
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import charts, localformat
from helpdesk.accounts.guards import manager_required
from helpdesk.errors import ApplicationError
from helpdesk.staffing import forecast, history_import, plan, reports
from helpdesk.staffing.forms import PlanForm, ReportFilterForm, VolumeImportForm


def _filters(form: ReportFilterForm) -> reports.Filters:
    since, until = form.period()
    data = form.cleaned_data if form.is_valid() else {}
    return reports.Filters(
        since=since, until=until, channel=data.get("channel") or "",
        queue_id=data["queue"].pk if data.get("queue") else None,
        crisis_id=data["crisis"].pk if data.get("crisis") else None,
    )  # fmt: skip


def _channel_label(name: str) -> str:
    from channels_app.base import channel_spec

    spec = channel_spec(name)
    return str(spec.label) if spec else name


def _report_charts(data: dict) -> dict[str, charts.Chart]:
    series = data["series"]
    daily = data["step"] >= timedelta(days=1)
    fmt = "SHORT_DATE" if daily else "SHORT_DATETIME"
    every = max(1, len(series.starts) // 12)
    columns = [
        charts.Column(
            label=localformat.format_datetime(start, fmt) if i % every == 0 else "",
            tooltip=localformat.format_datetime(start, fmt),
            values={"contacts": n},
        )
        for i, (start, n) in enumerate(zip(series.starts, series.contacts, strict=True))
    ]
    backlog = [
        charts.Column(label=c.label, tooltip=c.tooltip, values={"backlog": n})
        for c, n in zip(columns, series.backlog, strict=True)
    ]
    from helpdesk.tickets.models import Queue

    queues = dict(Queue.objects.values_list("pk", "name"))
    number = localformat.format_number
    return {
        "contacts": charts.column_chart(
            title=_("Contacts per day") if daily else _("Contacts per hour"), columns=columns,
            series=[charts.Series("contacts", _("Contacts"), "bar-primary")], head=_("Time"),
            value_head=_("Contacts"),
        ),
        "backlog": charts.column_chart(
            title=_("Open tickets (backlog)"), columns=backlog,
            series=[charts.Series("backlog", _("Open tickets"), "bar-secondary")], head=_("Time"),
            value_head=_("Open tickets"),
        ),
        "channel": charts.bar_chart(
            title=_("Contacts by channel"),
            bars=[charts.Bar(_channel_label(str(c)), n, number(n), f"series-{c}") for c,
                n in data["by_channel"]],
            head=_("Channel"), value_head=_("Contacts"),
        ),
        "queue": charts.bar_chart(
            title=_("Contacts by queue"),
            bars=[charts.Bar(queues.get(q, "—"), n, number(n)) for q, n in data["by_queue"]],
            head=_("Queue"), value_head=_("Contacts"),
        ),
        "language": charts.bar_chart(
            title=_("Contacts by language"),
            bars=[charts.Bar(str(lang or "—"), n, number(n)) for lang, n in data["by_language"]],
            head=_("Language"), value_head=_("Contacts"),
        ),
        "severity": charts.column_chart(
            title=_("Triage severity mix"),
            columns=[charts.Column(label=localformat.localize_digits(s), tooltip=_("Severity %(n)s") % {
                "n": localformat.localize_digits(s)}, values={"runs": n}, css_class=f"sev-{s}")
                for s, n in data["severity"].items()],
            series=[charts.Series("runs", _("Triage runs"), "bar-primary")], head=_("Severity"),
            value_head=_("Triage runs"),
        ),
    }  # fmt: skip


@manager_required
def report_page(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    if settings.REPORTS_REFRESH_ON_VIEW:
        from helpdesk.staffing import rollups

        rollups.refresh()
    form = ReportFilterForm(request.GET or None)
    filters = _filters(form)
    data = reports.report(filters)
    return render(
        request, "staffing/reports.html",
        {"form": form, "data": data, "charts": _report_charts(data), "query": request.GET.urlencode(),
         "filters": filters},
    )  # fmt: skip


def _csv(name: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


@manager_required
def report_csv(request: HttpRequest) -> HttpResponse:
    """?what=series (per hour or day), channels, agents."""
    filters = _filters(ReportFilterForm(request.GET or None))
    what = request.GET.get("what", "series")
    response = _csv(f"report-{what}")
    writer = csv.writer(response)
    if what == "series":
        step = timedelta(hours=1) if filters.until - filters.since <= timedelta(days=3) else timedelta(days=1)
        data = reports.series(filters, step=step)
        writer.writerow(["start", "contacts", "opened", "solved", "backlog"])
        for row in zip(data.starts, data.contacts, data.opened, data.solved, data.backlog, strict=True):
            writer.writerow([row[0].isoformat(), *row[1:]])
    elif what == "channels":
        writer.writerow(["channel", "contacts"])
        writer.writerows(reports.contacts_by(filters, "channel"))
    elif what == "agents":
        writer.writerow(["agent", "handled", "replies", "csat", "csat_answers"])
        for agent in reports.agents(filters):
            csat = "" if agent.csat is None else f"{agent.csat:.4f}"
            writer.writerow([agent.name, agent.handled, agent.replies, csat, agent.answers])
    else:
        return HttpResponse(_("Unknown export."), status=400, content_type="text/plain")
    return response


def _plan(request: HttpRequest) -> tuple[PlanForm, datetime, list[plan.Line]]:
    form = PlanForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    day = data.get("day") or (timezone.now().astimezone(UTC) + timedelta(days=1)).date()
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    overlays = {}
    if data.get("broadcast_recipients"):
        at = data.get("broadcast_at")
        send_at = start.replace(hour=at.hour, minute=at.minute) if at else start.replace(hour=9)
        language = data.get("broadcast_language") or "en"
        overlays[("sms", language)] = forecast.broadcast_overlay(
            recipients=data["broadcast_recipients"],
            send_at=send_at,
            curve=forecast.past_reply_curve(channel="sms"),
        )
    lines = plan.staffing_plan(start=start, days=1, overlays=overlays)
    return form, start, lines


def _plan_chart(lines: list[plan.Line]) -> charts.Chart:
    needed: dict[datetime, int] = {}
    staffed: dict[datetime, int] = {}
    for line in lines:
        needed[line.start] = needed.get(line.start, 0) + line.needed
        staffed[line.start] = staffed.get(line.start, 0) + min(line.on_shift, line.needed)
    columns = [
        charts.Column(
            label=localformat.format_datetime(start, "TIME") if i % 4 == 0 else "",
            tooltip=_("%(time)s: %(needed)s needed, %(short)s short") % {
                "time": localformat.format_datetime(start, "TIME"),
                "needed": localformat.format_number(needed[start]),
                "short": localformat.format_number(needed[start] - staffed[start]),
            },
            values={"staffed": staffed[start], "short": needed[start] - staffed[start]},
        )
        for i, start in enumerate(sorted(needed))
    ]  # fmt: skip
    return charts.column_chart(
        title=_("Agents needed per half-hour: on shift and short"), columns=columns,
        series=[charts.Series("staffed", _("Covered by the roster"), "bar-primary"),
                charts.Series("short", _("Short"), "sev-4")],
        head=_("Time"),
    )  # fmt: skip


@manager_required
def plan_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        upload = VolumeImportForm(request.POST, request.FILES)
        if upload.is_valid():
            try:
                added = history_import.import_csv(
                    data=upload.cleaned_data["file"].read(20_000_001)[:20_000_000]
                )
            except ApplicationError as exc:
                messages_framework.error(request, exc.message)
            else:
                messages_framework.success(
                    request, _("%(count)s intervals of history imported.") % {"count": added}
                )
        return redirect("staffing:plan")
    form, start, lines = _plan(request)
    shortest = sorted((line for line in lines if line.gap < 0), key=lambda line: line.gap)[:10]
    return render(
        request, "staffing/plan.html",
        {"form": form, "start": start, "lines": lines, "chart": _plan_chart(lines) if lines else None,
         "shortest": shortest, "upload": VolumeImportForm(), "query": request.GET.urlencode(),
         "needed_total": sum(line.needed for line in lines)},
    )  # fmt: skip


@manager_required
def plan_csv(request: HttpRequest) -> HttpResponse:
    _form, start, lines = _plan(request)
    response = _csv(f"staffing-{start:%Y-%m-%d}")
    writer = csv.writer(response)
    writer.writerow(["start", "channel", "language", "expected_contacts", "agents_needed", "on_shift", "gap",
                     "service_level"])  # fmt: skip
    for line in lines:
        writer.writerow([line.start.isoformat(), line.channel, line.language,
            f"{line.expected:.1f}", line.needed,
                         line.on_shift, line.gap, f"{line.service_level:.3f}"])  # fmt: skip
    return response
