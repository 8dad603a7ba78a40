"""Selectors for the crisis dashboard: what a crisis brought in, and how the desk is coping.

Each selector is one GROUP BY query (or one aggregate), so the page costs the same number of
queries for a thousand contacts as for a million; all return plain dataclasses.

A *contact* is an inbound message, call or voicemail on a ticket linked to the crisis: the
customer reaching out. Inbound triage answers, survey answers and STOP/START words are answers
to the desk, not new contacts, and are not counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import quantiles

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import TruncHour
from django.utils import timezone

from helpdesk.crisis.models import Broadcast, Crisis, Deflection, DeliveryState
from helpdesk.tickets.models import Channel, Direction, EventKind, Ticket, TimelineEvent
from triage.models import Run

CONTACT_KINDS = (EventKind.MESSAGE, EventKind.CALL, EventKind.VOICEMAIL)
# The hourly chart: the crisis' last 48 hours (or all of it, when it is younger), one bar an hour.
HOURLY_WINDOW = timedelta(hours=48)
BROADCASTS_SHOWN = 20  # the newest; a crisis with more is a rare, long one
CHANNEL_ORDER = [c.value for c in Channel]


@dataclass(frozen=True)
class HourlyContacts:
    """Contacts per hour and channel; `hours` are the starts of every hour of the window, oldest
    first, in the reader's zone (hours without contacts too, so the chart's axis is even)."""

    hours: list[datetime]
    channels: list[str]
    counts: dict[tuple[datetime, str], int]

    def count(self, hour: datetime, channel: str) -> int:
        return self.counts.get((hour, channel), 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class CustomerMix:
    """Customers with a ticket of the crisis: `new` ones have no ticket from before it began."""

    new: int
    repeat: int

    @property
    def total(self) -> int:
        return self.new + self.repeat


@dataclass(frozen=True)
class SeverityDistribution:
    """Triage runs on the crisis' tickets by the severity they came to (1-5); `unassessed` runs
    have none yet (still answering, or ended before the last question)."""

    counts: dict[int, int]
    unassessed: int

    @property
    def assessed(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ResponseTime:
    """From a ticket's first contact to the desk's first reply by an agent, for tickets whose
    first contact came by `channel`; `waiting` tickets have no reply yet."""

    channel: str
    answered: int
    waiting: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class DeflectionRate:
    """Contacts served without an agent (IVR steps by SMS, HELP answers, banner and self-service
    links) against those that reached the desk: deflections / (deflections + contacts)."""

    by_kind: dict[str, int]
    contacts: int

    @property
    def deflections(self) -> int:
        return sum(self.by_kind.values())

    @property
    def rate(self) -> float | None:
        total = self.deflections + self.contacts
        return self.deflections / total if total else None


@dataclass(frozen=True)
class BroadcastRates:
    """One broadcast's deliveries: `handed` went to the provider (sent, delivered or failed);
    delivery rate = delivered / handed; reply rate = replied / reached (sent or delivered)."""

    id: int
    name: str
    channel: str
    status: str
    planned: int
    sent: int
    delivered: int
    failed: int
    replied: int

    @property
    def handed(self) -> int:
        return self.sent + self.delivered + self.failed

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.handed if self.handed else None

    @property
    def reply_rate(self) -> float | None:
        reached = self.sent + self.delivered
        return self.replied / reached if reached else None


@dataclass(frozen=True)
class Dashboard:
    crisis_id: int
    began_at: datetime
    since: datetime
    until: datetime
    hourly: HourlyContacts
    contacts_by_channel: dict[str, int]
    customers: CustomerMix
    severities: SeverityDistribution
    response_times: list[ResponseTime]
    deflection: DeflectionRate
    broadcasts: list[BroadcastRates] = field(default_factory=list)

    @property
    def contacts(self) -> int:
        return sum(self.contacts_by_channel.values())


def began_at(crisis: Crisis) -> datetime:
    """When the crisis began: activated, else created (a draft being prepared)."""
    return crisis.starts_at or crisis.created_at


def crisis_dashboard(*, crisis: Crisis, now: datetime | None = None) -> Dashboard:
    """Every panel of the dashboard: seven queries, whatever the crisis' size."""
    now = now or timezone.now()
    until = min(crisis.ends_at, now) if crisis.ends_at else now
    start = began_at(crisis)
    # Whole hours: the first bar counts all of its hour, like the others.
    since = max(_hour_of(start), _hour_of(until) - HOURLY_WINDOW + timedelta(hours=1))
    by_channel = contacts_by_channel(crisis=crisis)
    return Dashboard(
        crisis_id=crisis.pk,
        began_at=start,
        since=since,
        until=until,
        hourly=contacts_per_hour(crisis=crisis, since=since, until=until),
        contacts_by_channel=by_channel,
        customers=customer_mix(crisis=crisis),
        severities=severity_distribution(crisis=crisis),
        response_times=first_response_times(crisis=crisis),
        deflection=deflection_rate(crisis=crisis, contacts=sum(by_channel.values())),
        broadcasts=broadcast_rates(crisis=crisis),
    )


def _hour_of(moment: datetime) -> datetime:
    """The start of the moment's hour in the reader's zone (Tehran's hours start at :30 UTC)."""
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def _contacts(crisis: Crisis):
    return TimelineEvent.objects.filter(ticket__crisis=crisis, direction=Direction.IN, kind__in=CONTACT_KINDS)


def _in_channel_order(channels: Iterable[str]) -> list[str]:
    return sorted(set(channels), key=lambda c: (CHANNEL_ORDER.index(c) if c in CHANNEL_ORDER else 99, c))


def contacts_per_hour(*, crisis: Crisis, since: datetime, until: datetime) -> HourlyContacts:
    """Contacts per hour (of the reader's zone) and channel between `since` and `until`."""
    rows = (
        _contacts(crisis)
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(hour=TruncHour("created_at"))
        .values_list("hour", "channel")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(hour, channel): n for hour, channel, n in rows}
    hours = []
    hour = _hour_of(since)
    while hour < until:
        hours.append(hour)
        hour = timezone.localtime(hour + timedelta(hours=1))
    return HourlyContacts(hours=hours, channels=_in_channel_order(c for _h, c in counts), counts=counts)


def contacts_by_channel(*, crisis: Crisis) -> dict[str, int]:
    """Every contact of the crisis so far, per channel, in the channels' usual order."""
    rows = dict(_contacts(crisis).values_list("channel").annotate(n=Count("id")).order_by())
    return {channel: rows[channel] for channel in _in_channel_order(rows)}


def customer_mix(*, crisis: Crisis) -> CustomerMix:
    """New customers (first ticket in the crisis) against repeat ones (a ticket from before)."""
    earlier = Ticket.objects.filter(
        customer=OuterRef("customer_id"), created_at__lt=began_at(crisis)
    ).exclude(crisis=crisis)
    customers = (
        Ticket.objects.filter(crisis=crisis)
        .values("customer_id")
        .distinct()
        .annotate(repeat=Exists(earlier))
        .order_by()
    )
    # Grouped once more over the distinct customers: two rows come back, not one a customer.
    counts = dict(_count_by(customers, "repeat"))
    return CustomerMix(new=counts.get(False, 0), repeat=counts.get(True, 0))


def _count_by(queryset, column: str) -> list[tuple[object, int]]:
    """`SELECT column, count(*) FROM (queryset) GROUP BY column`: one query over a subquery the
    ORM cannot group again itself (an annotation over a DISTINCT)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, count(*) FROM ({sql}) AS rows GROUP BY {column}", params)  # noqa: S608 - column is ours
        return [(bool(value) if isinstance(value, int) else value, n) for value, n in cursor.fetchall()]


def severity_distribution(*, crisis: Crisis) -> SeverityDistribution:
    """Triage runs of the crisis' tickets by severity."""
    rows = dict(
        Run.objects.filter(ticket__crisis=crisis).values_list("severity").annotate(n=Count("id")).order_by()
    )
    unassessed = rows.pop(None, 0)
    return SeverityDistribution(counts={s: rows.get(s, 0) for s in range(1, 6)}, unassessed=unassessed)


def first_response_times(*, crisis: Crisis) -> list[ResponseTime]:
    """Median and 90th percentile of the first response per channel of the first contact."""
    contacts = _contacts(crisis).order_by("ticket_id", "created_at", "id")
    if connection.vendor == "postgresql":
        # DISTINCT ON: one sorted pass over the contacts (100k: 0.1 s), where a first-contact
        # subquery per ticket took 3.3 s.
        firsts = contacts.distinct("ticket_id").values("channel", "created_at", "ticket__first_response_at")
        sql, params = firsts.query.sql_with_params()
        seconds = "extract(epoch from answered_at - first_at)"
        answered = "answered_at >= first_at"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT channel, count(*) FILTER (WHERE {answered}), "  # noqa: S608 - no user text
                f"count(*) FILTER (WHERE answered_at IS NULL), "
                f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE {answered}), "
                f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE {answered}) "
                f"FROM ({sql}) AS firsts (channel, first_at, answered_at) GROUP BY channel",
                params,
            )
            rows = {r[0]: ResponseTime(r[0], r[1], r[2], r[3], r[4]) for r in cursor.fetchall()}
    else:
        rows = _response_times_in_python(
            contacts.values_list("ticket_id", "channel", "created_at", "ticket__first_response_at")
        )
    return [rows[c] for c in _in_channel_order(rows)]


def _response_times_in_python(contacts) -> dict[str, ResponseTime]:
    """SQLite (the demo) has neither DISTINCT ON nor percentile_cont: the demo's few hundred
    contacts are read here, in ticket and time order, the first of each ticket kept."""
    durations: dict[str, list[float]] = {}
    waiting: dict[str, int] = {}
    seen: set[int] = set()
    for ticket_id, channel, first_at, answered_at in contacts:
        if ticket_id in seen:
            continue
        seen.add(ticket_id)
        durations.setdefault(channel, [])
        if answered_at is None:
            waiting[channel] = waiting.get(channel, 0) + 1
        elif answered_at >= first_at:
            durations[channel].append((answered_at - first_at).total_seconds())
    return {
        channel: ResponseTime(
            channel,
            len(values),
            waiting.get(channel, 0),
            percentile(values, 0.5),
            percentile(values, 0.9),
        )
        for channel, values in durations.items()
    }


def percentile(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont (linear between the closest ranks)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def deflection_rate(*, crisis: Crisis, contacts: int) -> DeflectionRate:
    """Deflections of the crisis by kind, beside the contacts that reached the desk."""
    rows = dict(
        Deflection.objects.filter(crisis=crisis).values_list("kind").annotate(n=Count("id")).order_by()
    )
    return DeflectionRate(by_kind=rows, contacts=contacts)


def broadcast_rates(
    *,
    crisis: Crisis | None,
    crisis_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[BroadcastRates]:
    """The crisis' (or the period's) newest broadcasts with their delivery counts, in one grouped query."""

    def count(status: str | None = None, **extra: object) -> Count:
        condition = Q(deliveries__status=status) if status else Q(**extra)
        return Count("deliveries", filter=condition)

    chosen = Broadcast.objects.all()
    if crisis is not None:
        chosen = chosen.filter(crisis_id=crisis.pk)
    elif crisis_id is not None:
        chosen = chosen.filter(crisis_id=crisis_id)
    if since is not None:
        chosen = chosen.filter(created_at__gte=since)
    if until is not None:
        chosen = chosen.filter(created_at__lt=until)
    broadcasts = (
        chosen.annotate(
            n_planned=Count("deliveries"),
            n_sent=count(DeliveryState.SENT),
            n_delivered=count(DeliveryState.DELIVERED),
            n_failed=count(DeliveryState.FAILED),
            n_replied=count(deliveries__replied_at__isnull=False),
        )
        .values_list(
            "id", "name", "channel", "status", "n_planned", "n_sent", "n_delivered", "n_failed", "n_replied"
        )
        .order_by("-created_at", "-id")[:BROADCASTS_SHOWN]
    )
    return [BroadcastRates(*row) for row in broadcasts]
