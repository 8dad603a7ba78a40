"""Keep the 30-minute rollups current: a worker reads the timeline's new events (by id, from the
mark) and rebuilds each interval they touch, and every run rebuilds the last two intervals too (an
event whose transaction committed after a later id was read is caught there). Rebuilding an
interval recounts it from its own rows, so running twice, or on two machines, gives the same rows.

What an event touches: the interval it happened in, and its ticket's opening, first response and
solving intervals (a reply is a first response; a status change may solve).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from helpdesk.staffing.models import (
    INTERVAL_MINUTES,
    AgentRollup,
    DayDurationRollup,
    DayRollup,
    DurationMeasure,
    DurationRollup,
    IntervalRollup,
    RollupMark,
)
from helpdesk.tickets.models import Ticket, TimelineEvent

INTERVAL = timedelta(minutes=INTERVAL_MINUTES)
# Upper bounds (seconds) of the duration buckets, about 1.5× apart: a median read from them is
# within half a bucket of the exact one (tests/staffing/test_reports.py recounts it).
BOUNDS = (
    15, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10800,
    14400, 21600, 28800, 43200, 64800, 86400, 129600, 172800, 259200, 345600, 518400, 604800, 1209600,
    2592000,
)  # fmt: skip
READ_BATCH = 50_000  # events a refresh reads at once: one surge minute, bounded memory
CHUNK = timedelta(days=1)  # a rebuild reads a day of rows per query


def interval_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % INTERVAL_MINUTES, second=0, microsecond=0)


def bucket_of(seconds: float) -> int:
    return min(bisect.bisect_left(BOUNDS, max(seconds, 0)), len(BOUNDS))


def bucket_bounds(bucket: int) -> tuple[float, float]:
    low = BOUNDS[bucket - 1] if bucket > 0 else 0
    high = BOUNDS[bucket] if bucket < len(BOUNDS) else BOUNDS[-1] * 2
    return float(low), float(high)


def _spans(starts: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Contiguous runs of interval starts, as [from, to) ranges."""
    spans: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + INTERVAL)
        else:
            spans.append((start, start + INTERVAL))
    return spans


def rebuild(since: datetime, until: datetime) -> int:
    """Recount every interval in [since, until) from the timeline and the tickets; return rows written."""
    since, until = interval_start(since), interval_start(until - timedelta(microseconds=1)) + INTERVAL
    written = 0
    chunk_start = since
    while chunk_start < until:
        chunk_end = min(chunk_start + CHUNK, until)
        written += _rebuild_chunk(chunk_start, chunk_end)
        chunk_start = chunk_end
    days = {(since + timedelta(days=i)).date() for i in range((until - since).days + 1)}
    days = {d for d in days if datetime(d.year, d.month, d.day, tzinfo=UTC) < until}
    _rebuild_days(days)
    _rebuild_agent_days(days)
    return written


def rebuild_days(since: date, until: date) -> None:
    """Re-sum the day rows of [since, until) from the interval rows (after a change of the day tables)."""
    _rebuild_days({since + timedelta(days=i) for i in range((until - since).days)})


def _rebuild_days(days: set[date]) -> None:
    """Sum each touched day's interval rows into its day rows (one grouped query a table)."""
    from django.db.models import Sum

    dims = ("channel", "queue_id", "language", "crisis_id")
    keys = (*dims, "measure", "bucket")
    measures = (
        "contacts",
        "opened",
        "first_responses",
        "first_response_met",
        "solved",
        "resolution_met",
        "replies",
    )
    for day in sorted(days):
        since = datetime(day.year, day.month, day.day, tzinfo=UTC)
        until = since + timedelta(days=1)
        counts = (
            IntervalRollup.objects.filter(start__gte=since, start__lt=until)
            .values(*dims)
            .annotate(**{f"s_{m}": Sum(m) for m in measures})
            .order_by()
        )
        buckets = (
            DurationRollup.objects.filter(start__gte=since, start__lt=until)
            .values(*dims, "measure", "bucket")
            .annotate(n=Sum("count"))
            .order_by()
        )
        with transaction.atomic():
            DayRollup.objects.filter(day=day).delete()
            DayDurationRollup.objects.filter(day=day).delete()
            DayRollup.objects.bulk_create(
                [
                    DayRollup(day=day, **{d: row[d] for d in dims}, **{m: row[f"s_{m}"] for m in measures})
                    for row in counts
                ],
                batch_size=5000,
            )
            DayDurationRollup.objects.bulk_create(
                [
                    DayDurationRollup(day=day, count=row["n"], **{k: row[k] for k in keys})
                    for row in buckets
                ],
                batch_size=5000,
            )  # fmt: skip


def _rebuild_chunk(since: datetime, until: datetime) -> int:
    counts: dict[tuple, Counter] = defaultdict(Counter)
    durations: Counter = Counter()
    events = TimelineEvent.objects.filter(
        created_at__gte=since, created_at__lt=until, kind__in=("message", "call", "voicemail")
    )
    for created, direction, channel, author, queue_id, language, crisis_id in (
        events.filter(direction__in=("in", "out"))
        .exclude(channel="system")
        .values_list(
            "created_at", "direction", "channel", "author_id", "ticket__queue_id", "ticket__language",
            "ticket__crisis_id",
        )
        .iterator(chunk_size=20_000)
    ):  # fmt: skip
        key = (interval_start(created), channel, queue_id, language or "", crisis_id)
        if direction == "in":
            counts[key]["contacts"] += 1
        elif author is not None:
            counts[key]["replies"] += 1
    dims = ("channel", "queue_id", "language", "crisis_id")
    for created, channel, queue_id, language, crisis_id in (
        Ticket.objects.filter(created_at__gte=since, created_at__lt=until)
        .values_list("created_at", *dims)
        .iterator(chunk_size=20_000)
    ):
        counts[(interval_start(created), channel, queue_id, language or "", crisis_id)]["opened"] += 1
    timed = (
        ("first_response_at", "first_response_due_at", "first_responses", "first_response_met",
         DurationMeasure.FIRST_RESPONSE),
        ("solved_at", "resolution_due_at", "solved", "resolution_met", DurationMeasure.RESOLUTION),
    )  # fmt: skip
    for moment, due_field, count_name, met_name, measure in timed:
        for created, at, due, channel, queue_id, language, crisis_id in (
            Ticket.objects.filter(**{f"{moment}__gte": since, f"{moment}__lt": until})
            .values_list("created_at", moment, due_field, *dims)
            .iterator(chunk_size=20_000)
        ):
            key = (interval_start(at), channel, queue_id, language or "", crisis_id)
            counts[key][count_name] += 1
            counts[key][met_name] += int(due is None or at <= due)
            durations[(*key, measure, bucket_of((at - created).total_seconds()))] += 1
    with transaction.atomic():
        IntervalRollup.objects.filter(start__gte=since, start__lt=until).delete()
        DurationRollup.objects.filter(start__gte=since, start__lt=until).delete()
        IntervalRollup.objects.bulk_create(
            [
                IntervalRollup(
                    start=start,
                    channel=channel,
                    queue_id=queue_id,
                    language=language,
                    crisis_id=crisis_id,
                    **measures,
                )
                for (start, channel, queue_id, language, crisis_id), measures in counts.items()
            ],
            batch_size=5000,
        )
        DurationRollup.objects.bulk_create(
            [
                DurationRollup(
                    start=s, channel=c, queue_id=q, language=lang, crisis_id=k, measure=m, bucket=b, count=n
                )
                for (s, c, q, lang, k, m, b), n in durations.items()
            ],
            batch_size=5000,
        )
    return len(counts) + len(durations)


def _rebuild_agent_days(days: set[date]) -> None:
    for day in sorted(days):
        since = datetime(day.year, day.month, day.day, tzinfo=UTC)
        until = since + timedelta(days=1)
        replies = Counter(
            TimelineEvent.objects.filter(
                created_at__gte=since,
                created_at__lt=until,
                direction="out",
                kind="message",
                author__isnull=False,
            ).values_list("author_id", flat=True)
        )
        handled = Counter(
            Ticket.objects.filter(
                solved_at__gte=since, solved_at__lt=until, assignee__isnull=False
            ).values_list("assignee_id", flat=True)
        )
        with transaction.atomic():
            AgentRollup.objects.filter(day=day).delete()
            AgentRollup.objects.bulk_create(
                [
                    AgentRollup(
                        day=day, agent_id=agent, replies=replies.get(agent, 0), handled=handled.get(agent, 0)
                    )
                    for agent in set(replies) | set(handled)
                ]
            )


def refresh(*, now: datetime | None = None, batch: int = READ_BATCH) -> int:
    """The worker's run: rebuild what the new events touched, and the last two intervals."""
    now = now or timezone.now()
    with transaction.atomic():
        mark = RollupMark.objects.select_for_update().order_by("pk").first() or RollupMark.objects.create()
        rows = list(
            TimelineEvent.objects.filter(pk__gt=mark.last_event_id)
            .order_by("pk")
            .values_list(
                "pk", "created_at", "ticket__created_at", "ticket__first_response_at", "ticket__solved_at"
            )[:batch]
        )
        touched = {interval_start(now), interval_start(now) - INTERVAL}
        for _pk, *moments in rows:
            touched.update(interval_start(m) for m in moments if m is not None)
        for since, until in _spans(touched):
            rebuild(since, until)
        if rows:
            mark.last_event_id = rows[-1][0]
            mark.save(update_fields=["last_event_id", "updated_at"])
    return len(rows)
