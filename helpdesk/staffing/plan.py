"""The staffing plan: per interval, channel and language, the contacts expected (forecast plus
overlay), the agents needed for the channel's target (Erlang C; chat with concurrency; email by
its response time), the agents on shift who can answer it, and the gap.

An agent on shift counts for every channel and language they can serve: with few multi-skilled
agents the figure is exact; with many it is the most the roster could give each line, so a gap
shown is a real gap, and a line without one may still be short when several peak at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from helpdesk.staffing import erlang, forecast
from helpdesk.staffing.models import Holiday, ImportedVolume, IntervalRollup, Shift
from helpdesk.staffing.rollups import INTERVAL, interval_start

HISTORY_DAYS = 730


@dataclass(frozen=True)
class Target:
    aht_seconds: float
    level: float = 0.8
    seconds: float = 20
    concurrency: int = 1
    deferred: bool = False  # email: answered within hours, planned by workload
    patience_seconds: float = 0  # callers hang up after this on average: Erlang A (0: Erlang C)


def target_for(channel: str) -> Target:
    configured = settings.STAFFING_TARGETS.get(channel) or settings.STAFFING_TARGETS["default"]
    return Target(**configured)


def history(*, channel: str, language: str, until: datetime) -> forecast.History:
    """Contacts per interval for one channel and language: our rollups, else the imported ones."""
    since = until - timedelta(days=HISTORY_DAYS)
    counts: dict[datetime, float] = defaultdict(float)
    imported = ImportedVolume.objects.filter(start__gte=since, start__lt=until, channel=channel)
    ours = IntervalRollup.objects.filter(start__gte=since, start__lt=until, channel=channel)
    if language:
        imported, ours = imported.filter(language=language), ours.filter(language=language)
    for start, n in imported.values_list("start", "contacts"):
        counts[start] += n
    own: dict[datetime, float] = defaultdict(float)
    for start, n in ours.values_list("start", "contacts"):
        own[start] += n
    counts.update({start: n for start, n in own.items() if n})  # our own count wins where both exist
    holidays = frozenset(
        Holiday.objects.filter(day__gte=since.date(), day__lt=until.date()).values_list("day", flat=True)
    )
    return forecast.History(counts=dict(counts), holidays=holidays)


@dataclass(frozen=True)
class Line:
    start: datetime
    channel: str
    language: str
    expected: float
    needed: int
    on_shift: int
    service_level: float

    @property
    def gap(self) -> int:
        return self.on_shift - self.needed


def needed_for(volume: float, target: Target) -> erlang.Staffing:
    seconds = INTERVAL.total_seconds()
    if target.deferred:
        agents = erlang.agents_for_backlog(
            volume=volume, interval_seconds=seconds, aht_seconds=target.aht_seconds
        )
        return erlang.Staffing(
            agents, 1.0, 0.0, (volume * target.aht_seconds / seconds / agents) if agents else 0.0
        )
    if target.patience_seconds:
        a = erlang.agents_needed_with_abandonment(
            volume=volume, interval_seconds=seconds, aht_seconds=target.aht_seconds,
            patience_seconds=target.patience_seconds, target_level=target.level,
            target_seconds=target.seconds,
        )  # fmt: skip
        return erlang.Staffing(a.agents, a.service_level, a.average_wait_seconds, a.occupancy)
    return erlang.agents_needed(
        volume=volume, interval_seconds=seconds, aht_seconds=target.aht_seconds, target_level=target.level,
        target_seconds=target.seconds, concurrency=target.concurrency,
    )  # fmt: skip


def on_shift(*, since: datetime, until: datetime) -> dict[tuple[datetime, str, str], int]:
    """Agents on shift per (interval, channel, language)."""
    out: dict[tuple[datetime, str, str], int] = defaultdict(int)
    for starts, ends, channels, languages in Shift.objects.filter(
        starts_at__lt=until, ends_at__gt=since
    ).values_list("starts_at", "ends_at", "channels", "languages"):
        moment = max(interval_start(starts), since)
        while moment < min(ends, until):
            if moment + INTERVAL > starts:
                for channel in channels:
                    for language in languages:
                        out[(moment, channel, language)] += 1
            moment += INTERVAL
    return out


def staffing_plan(
    *,
    start: datetime,
    days: int = 1,
    lines: list[tuple[str, str]] | None = None,
    overlays: dict[tuple[str, str], dict[datetime, float]] | None = None,
) -> list[Line]:
    """The plan for `days` from `start` (a UTC midnight) for each (channel, language) line."""
    until = start + timedelta(days=days)
    if lines is None:
        lines = sorted(
            set(
                IntervalRollup.objects.filter(start__gte=start - timedelta(days=56)).values_list(
                    "channel", "language"
                )
            )
            | set(ImportedVolume.objects.values_list("channel", "language").distinct())
        )
    if overlays:  # a planned broadcast loads its channel even where there is no history yet
        lines = list(lines) + [key for key in overlays if key not in lines]
    roster = on_shift(since=start, until=until)
    holidays = Holiday.objects.filter(day__gte=start.date(), day__lt=until.date()).values_list(
        "day", flat=True
    )
    out = []
    for channel, language in lines:
        past = history(channel=channel, language=language, until=start)
        expected = forecast.forecast(past, start=start, days=days, holidays_ahead=list(holidays))
        if overlays and (channel, language) in overlays:
            expected = forecast.combine(expected, {k: v for k, v in overlays[(channel, language)].items()
                                                   if start <= k < until})  # fmt: skip
        target = target_for(channel)
        for moment in sorted(expected):
            staffing = needed_for(expected[moment], target)
            out.append(
                Line(moment, channel, language, expected[moment], staffing.agents,
                     roster.get((moment, channel, language), 0), staffing.service_level)
            )  # fmt: skip
    return out
