"""The managers' reports, read from the rollups only (helpdesk.staffing.rollups): contacts by
channel, queue, language and hour; first-response and resolution times (median and p90, from
duration buckets); SLA attainment; backlog over time; per agent handled, replies and CSAT; the
triage severity mix; broadcast delivery and reply rates. A fixed number of grouped queries
whatever the volume (tests/staffing/test_reports.py counts them; bench/reports.py times them)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from helpdesk.charts import ratio
from helpdesk.staffing.models import (
    AgentRollup,
    DayDurationRollup,
    DayRollup,
    DurationMeasure,
    DurationRollup,
    IntervalRollup,
)
from helpdesk.staffing.rollups import INTERVAL, bucket_bounds, interval_start


@dataclass(frozen=True)
class Filters:
    since: datetime
    until: datetime
    channel: str = ""
    queue_id: int | None = None
    crisis_id: int | None = None

    @classmethod
    def last(cls, days: int = 7, **kwargs) -> Filters:
        now = timezone.now()
        return cls(
            since=interval_start(now - timedelta(days=days)), until=interval_start(now) + INTERVAL, **kwargs
        )


def _midnight(moment: datetime) -> bool:
    moment = moment.astimezone(UTC)
    return (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)


def daily(filters: Filters) -> bool:
    """Whole UTC days, two or more: read the day rows (48 times fewer than the intervals')."""
    return (
        filters.until - filters.since >= timedelta(days=2)
        and _midnight(filters.since)
        and _midnight(filters.until)
    )


def _counts(filters: Filters):
    return _scope(DayRollup.objects if daily(filters) else IntervalRollup.objects, filters)


def _scope(qs, filters: Filters):
    if qs.model in (DayRollup, DayDurationRollup):
        qs = qs.filter(
            day__gte=filters.since.astimezone(UTC).date(), day__lt=filters.until.astimezone(UTC).date()
        )
    else:
        qs = qs.filter(start__gte=filters.since, start__lt=filters.until)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.queue_id:
        qs = qs.filter(queue_id=filters.queue_id)
    if filters.crisis_id:
        qs = qs.filter(crisis_id=filters.crisis_id)
    return qs


MEASURES = (
    "contacts",
    "opened",
    "first_responses",
    "first_response_met",
    "solved",
    "resolution_met",
    "replies",
)


def _sums() -> dict:
    return {name: Sum(name, default=0) for name in MEASURES}


def contacts_by(filters: Filters, dimension: str) -> list[tuple[object, int]]:
    """Contacts per channel, queue_id or language, most first (one query)."""
    rows = (
        _counts(filters)
        .values(dimension)
        .annotate(n=Sum("contacts"))
        .filter(n__gt=0)
        .order_by("-n", dimension)
    )
    return [(row[dimension], int(row["n"])) for row in rows]


@dataclass
class Series:
    """Per interval: contacts, opened, solved (and the backlog at each interval's end)."""

    starts: list[datetime] = field(default_factory=list)
    contacts: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    solved: list[int] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)


def series(filters: Filters, *, step: timedelta = timedelta(hours=1), open_now: int | None = None) -> Series:
    """Contacts, tickets opened and solved per `step` (an hour, a day), and the open backlog at the
    end of each step, counted back from today's open tickets (one query, plus the counters)."""
    by_day = daily(filters) and step >= timedelta(days=1)
    time_field = "day" if by_day else "start"
    rows = (
        (_counts(filters) if by_day else _scope(IntervalRollup.objects, filters))
        .values(time_field)
        .annotate(contacts=Sum("contacts"), opened=Sum("opened"), solved=Sum("solved"))
        .order_by(time_field)
    )
    buckets: dict[datetime, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in rows:
        moment = row[time_field]
        if by_day:
            moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
        key = _floor(moment, step)
        buckets[key][0] += int(row["contacts"] or 0)
        buckets[key][1] += int(row["opened"] or 0)
        buckets[key][2] += int(row["solved"] or 0)
    out = Series()
    moment = _floor(filters.since, step)
    while moment < filters.until:
        contacts, opened, solved = buckets.get(moment, (0, 0, 0))
        out.starts.append(moment)
        out.contacts.append(contacts)
        out.opened.append(opened)
        out.solved.append(solved)
        moment += step
    if open_now is None:
        open_now = open_tickets(filters)
    end = interval_start(timezone.now()) + INTERVAL
    if _midnight(filters.until):  # whole days since, and today's day row (kept current with its intervals)
        end = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    rest = Filters(filters.until, end, filters.channel, filters.queue_id, filters.crisis_id)
    if _midnight(filters.until):
        later = _scope(DayRollup.objects, rest)
    else:
        later = _scope(IntervalRollup.objects, rest)
    after = later.aggregate(o=Sum("opened", default=0), s=Sum("solved", default=0))
    backlog = open_now - int(after["o"]) + int(after["s"])
    for opened, solved in zip(reversed(out.opened), reversed(out.solved), strict=True):
        out.backlog.append(max(backlog, 0))
        backlog -= opened - solved
    out.backlog.reverse()
    return out


def _floor(moment: datetime, step: timedelta) -> datetime:
    if step >= timedelta(days=1):
        local = timezone.localtime(moment)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)
    if step >= timedelta(hours=1):
        return moment.replace(minute=0, second=0, microsecond=0)
    return interval_start(moment)


def open_tickets(filters: Filters) -> int:
    """Open tickets now, from the counters kept in each change's transaction (never a COUNT(*))."""
    from helpdesk.tickets.models import OPEN_STATUSES, QueueCounter

    counters = QueueCounter.objects.filter(status__in=OPEN_STATUSES)
    if filters.queue_id:
        counters = counters.filter(queue_id=filters.queue_id)
    return int(counters.aggregate(n=Sum("count", default=0))["n"])


@dataclass(frozen=True)
class Durations:
    count: int
    median_seconds: float | None
    p90_seconds: float | None


def quantile(buckets: dict[int, int], fraction: float) -> float | None:
    """The `fraction` quantile of bucketed durations, linear inside its bucket."""
    total = sum(buckets.values())
    if not total:
        return None
    wanted = fraction * total
    seen = 0
    for bucket in sorted(buckets):
        n = buckets[bucket]
        if seen + n >= wanted:
            low, high = bucket_bounds(bucket)
            return low + (high - low) * ((wanted - seen) / n)
        seen += n
    return bucket_bounds(max(buckets))[1]


def durations(filters: Filters) -> dict[str, Durations]:
    """First-response and resolution times: median and p90 (one query)."""
    rows = (
        _scope(DayDurationRollup.objects if daily(filters) else DurationRollup.objects, filters)
        .values("measure", "bucket")
        .annotate(n=Sum("count"))
        .order_by()
    )
    by: dict[str, dict[int, int]] = {m: {} for m in DurationMeasure.values}
    for row in rows:
        by[row["measure"]][row["bucket"]] = int(row["n"])
    return {
        measure: Durations(sum(b.values()), quantile(b, 0.5), quantile(b, 0.9)) for measure, b in by.items()
    }


@dataclass(frozen=True)
class Totals:
    contacts: int
    opened: int
    first_responses: int
    first_response_met: int
    solved: int
    resolution_met: int
    replies: int

    @property
    def first_response_sla(self) -> float | None:
        return ratio(self.first_response_met, self.first_responses)

    @property
    def resolution_sla(self) -> float | None:
        return ratio(self.resolution_met, self.solved)


def totals(filters: Filters) -> Totals:
    values = _counts(filters).aggregate(**_sums())
    return Totals(**{name: int(values[name]) for name in MEASURES})


@dataclass(frozen=True)
class AgentRow:
    agent_id: int
    name: str
    handled: int
    replies: int
    csat: float | None
    answers: int


def agents(filters: Filters) -> list[AgentRow]:
    """Per agent: tickets solved, replies, CSAT of their surveys (two queries)."""
    from helpdesk.feedback.models import Survey, SurveyScale

    # Agent rollups are per UTC day: the days the period touches.
    first_day = filters.since.astimezone(UTC).date()
    last_day = (filters.until - timedelta(microseconds=1)).astimezone(UTC).date()
    rows = (
        AgentRollup.objects.filter(day__gte=first_day, day__lte=last_day)
        .values("agent_id", "agent__username", "agent__first_name", "agent__last_name")
        .annotate(handled=Sum("handled"), replies=Sum("replies"))
        .order_by("-handled", "-replies")
    )
    csat_filter = Q(scale=SurveyScale.CSAT, score__isnull=False)
    answered = Survey.objects.filter(
        csat_filter, answered_at__gte=filters.since, answered_at__lt=filters.until
    )
    scores = {
        row["agent_id"]: (row["satisfied"], row["answers"])
        for row in answered.values("agent_id")
        .annotate(answers=Count("id"), satisfied=Count("id", filter=Q(score__gte=4)))
        .order_by()
    }
    out = []
    for row in rows:
        satisfied, answers = scores.get(row["agent_id"], (0, 0))
        name = (
            " ".join(p for p in (row["agent__first_name"], row["agent__last_name"]) if p)
            or row["agent__username"]
        )
        out.append(
            AgentRow(row["agent_id"], name, int(row["handled"]), int(row["replies"]),
                     (satisfied or 0) / answers if answers else None, int(answers or 0))
        )  # fmt: skip
    return out


def severity_mix(filters: Filters) -> dict[int, int]:
    """Completed triage runs per severity (1–5) in the period (one query over the runs)."""
    from triage.models import Run, RunStatus

    runs = Run.objects.filter(
        status=RunStatus.COMPLETED, ended_at__gte=filters.since, ended_at__lt=filters.until
    )
    if filters.crisis_id:
        runs = runs.filter(ticket__crisis_id=filters.crisis_id)
    counts = dict(runs.values_list("severity").annotate(n=Count("id")).order_by())
    return {severity: int(counts.get(severity, 0)) for severity in range(1, 6)}


def broadcasts(filters: Filters):
    """The period's broadcasts with delivery and reply counts (one grouped query)."""
    from helpdesk.crisis.dashboard import broadcast_rates

    return broadcast_rates(crisis=None, crisis_id=filters.crisis_id, since=filters.since, until=filters.until)


def volume(*, since: datetime, until: datetime, interval: str = "hour", channel: str = "") -> list[dict]:
    """The API's counts per interval ('30min', 'hour' or 'day'), every interval listed (zeros too)."""
    step = {"30min": INTERVAL, "hour": timedelta(hours=1), "day": timedelta(days=1)}[interval]
    data = series(Filters(since=since, until=until, channel=channel), step=step, open_now=0)
    return [
        {"start": start.isoformat(), "contacts": contacts, "opened": opened, "solved": solved}
        for start, contacts, opened, solved in zip(
            data.starts, data.contacts, data.opened, data.solved, strict=True
        )
    ]


def report(filters: Filters) -> dict:
    """Everything the reports page shows (a fixed number of queries)."""
    span = filters.until - filters.since
    step = timedelta(hours=1) if span <= timedelta(days=3) else timedelta(days=1)
    return {
        "totals": totals(filters),
        "by_channel": contacts_by(filters, "channel"),
        "by_queue": contacts_by(filters, "queue_id"),
        "by_language": contacts_by(filters, "language"),
        "series": series(filters, step=step),
        "step": step,
        "durations": durations(filters),
        "agents": agents(filters),
        "severity": severity_mix(filters),
        "broadcasts": broadcasts(filters),
    }
