"""Service-level targets: when a ticket's first response and resolution are due, and their state.

Each queue has targets per priority (SlaTarget, else the queue's own defaults) and a calendar
(BusinessHours per weekday and Holiday dates, in the queue's time zone; none: around the clock).
A target is counted in business time from the ticket's creation; time spent pending on the
customer is not counted: it is added to `Ticket.sla_paused_seconds` when the ticket leaves
pending, so every due time is `calendar.add(created_at, target + paused)`.

The state of a target is one of
  met       it was done (first reply sent, ticket solved) by its due time;
  breached  it was done late, or it is not done and its due time has passed;
  paused    not done, and the ticket is pending on the customer;
  due       not done, due time ahead.
`Ticket.sla_due_at`, the queue's sort key, is the next target still open: the first response
until it is sent, then the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

if TYPE_CHECKING:
    from helpdesk.tickets.models import Queue, Ticket

MET, DUE, BREACHED, PAUSED = "met", "due", "breached", "paused"
STATES = (MET, DUE, BREACHED, PAUSED)
# Looking further than this for open hours means the calendar has none (a misconfiguration).
_HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class Calendar:
    """Open hours per weekday (Monday 0) in a time zone, minus holidays; no hours: always open."""

    zone: ZoneInfo
    hours: tuple[tuple[int, time, time], ...] = ()
    holidays: frozenset[date] = frozenset()

    @property
    def always_open(self) -> bool:
        return not self.hours

    def _intervals_from(self, start: datetime):
        """The open intervals (aware datetimes) from `start` on, in order."""
        day = start.astimezone(self.zone).date()
        for _ in range(_HORIZON_DAYS):
            if day not in self.holidays:
                for weekday, opens, closes in self.hours:
                    if weekday != day.weekday():
                        continue
                    begin = datetime.combine(day, opens, tzinfo=self.zone)
                    end = (
                        datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
                        if closes == time(0)
                        else datetime.combine(day, closes, tzinfo=self.zone)
                    )
                    if end > start:
                        yield max(begin, start), end
            day += timedelta(days=1)
        raise ValueError("This calendar has no open hours.")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of open time after `start`."""
        if self.always_open:
            return start + duration
        left = duration
        for begin, end in self._intervals_from(start):
            if end - begin >= left:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable")

    def opens_at(self, moment: datetime) -> datetime:
        """`moment` when it falls in open hours, else the next moment they begin."""
        return self.add(moment, timedelta(0))

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from `start` to `end` (zero when end is not after start)."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        for begin, close in self._intervals_from(start):
            if begin >= end:
                break
            total += min(close, end) - begin
        return total


def calendar_for(queue: Queue) -> Calendar:
    """The queue's calendar, read once per queue and process until its hours change."""
    return _calendar(queue.pk, queue.calendar_version)


@cache
def _calendar(queue_id: int, version: int) -> Calendar:
    from helpdesk.tickets.models import BusinessHours, Holiday, Queue

    queue = Queue.objects.get(pk=queue_id)
    return Calendar(
        zone=ZoneInfo(queue.time_zone or settings.TIME_ZONE),
        hours=tuple(
            (h.weekday, h.opens, h.closes)
            for h in BusinessHours.objects.filter(queue_id=queue_id).order_by("weekday", "opens")
        ),
        holidays=frozenset(Holiday.objects.filter(queue_id=queue_id).values_list("day", flat=True)),
    )


def due_times(ticket: Ticket) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for the ticket's queue, priority and pauses so far."""
    first, resolution = ticket.queue.targets_for(ticket.priority)
    calendar = calendar_for(ticket.queue)
    paused = timedelta(seconds=ticket.sla_paused_seconds)
    created = ticket.created_at or timezone.now()
    return calendar.add(created, first + paused), calendar.add(created, resolution + paused)


def apply_due_times(ticket: Ticket) -> None:
    """Set the ticket's due times and sort key from its policy (not saved)."""
    ticket.first_response_due_at, ticket.resolution_due_at = due_times(ticket)
    ticket.sla_due_at = next_due(ticket)


def next_due(ticket: Ticket) -> datetime:
    """The queue's sort key: the first target still open (first response, then resolution)."""
    due = ticket.first_response_due_at if ticket.first_response_at is None else ticket.resolution_due_at
    return due or ticket.sla_due_at


def pause(ticket: Ticket, now: datetime) -> None:
    """The ticket went pending on the customer: its clocks stop (not saved)."""
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def resume(ticket: Ticket, now: datetime) -> None:
    """The ticket left pending: the business time it waited is added to its targets (not saved)."""
    if ticket.sla_paused_at is None:
        return
    waited = calendar_for(ticket.queue).between(ticket.sla_paused_at, now)
    ticket.sla_paused_seconds += int(waited.total_seconds())
    ticket.sla_paused_at = None
    apply_due_times(ticket)


def _state(done_at: datetime | None, due_at: datetime, *, paused: bool, now: datetime) -> str:
    if done_at is not None:
        return MET if done_at <= due_at else BREACHED
    if paused:
        return PAUSED
    return DUE if now <= due_at else BREACHED


def states(ticket: Ticket, now: datetime | None = None) -> dict[str, dict]:
    """The API's `sla`: {first_response: {due_at, state}, resolution: {due_at, state}}."""
    now = now or timezone.now()
    # A row bulk-written without its targets (a COPY, a test's bulk_create) has only the sort
    # key: read it as both, rather than a query per row to work them out.
    first_due = ticket.first_response_due_at or ticket.sla_due_at
    resolution_due = ticket.resolution_due_at or ticket.sla_due_at
    paused = ticket.sla_paused_at is not None
    # A target already missed when the ticket went pending stays breached while it waits.
    pause_time = ticket.sla_paused_at or now
    first = _state(ticket.first_response_at, first_due, paused=paused and first_due > pause_time, now=now)
    resolution = _state(
        ticket.solved_at, resolution_due, paused=paused and resolution_due > pause_time, now=now
    )
    return {
        "first_response": {"due_at": first_due, "state": first},
        "resolution": {"due_at": resolution_due, "state": resolution},
    }


def badge(ticket: Ticket, now: datetime | None = None) -> tuple[str, datetime | None]:
    """What the queue and ticket page show: (state of the next open target, its due time), or
    ("met", None) when both were met, ("breached", None) when a closed ticket missed one."""
    now = now or timezone.now()
    current = states(ticket, now)
    for name in ("first_response", "resolution"):
        target = current[name]
        if target["state"] in (DUE, PAUSED) or (target["state"] == BREACHED and _open(ticket, name)):
            return target["state"], target["due_at"]
    missed = any(t["state"] == BREACHED for t in current.values())
    return (BREACHED if missed else MET), None


def _open(ticket: Ticket, name: str) -> bool:
    return (ticket.first_response_at if name == "first_response" else ticket.solved_at) is None


# --- Escalation, run by beat ----------------------------------------------------------------

ESCALATION_BATCH = 500


def escalate(now: datetime | None = None) -> int:
    """Fire every active escalation rule for the tickets now within its reach, once per ticket and
    rule (SlaEscalation is unique: a second beat, or two at once, fires nothing again). Returns
    how many fired."""
    from django.db import IntegrityError, transaction
    from django.db.models import Q

    from helpdesk.tickets.models import OPEN_STATUSES, EscalationRule, SlaEscalation, Ticket

    now = now or timezone.now()
    fired = 0
    for rule in EscalationRule.objects.filter(is_active=True).select_related("queue", "assign_to"):
        reach = now + timedelta(minutes=rule.minutes_before)
        if rule.target == "first_response":
            pending = Q(first_response_at__isnull=True, first_response_due_at__lte=reach)
        else:
            pending = Q(solved_at__isnull=True, resolution_due_at__lte=reach)
        tickets = (
            Ticket.objects.filter(
                pending, queue=rule.queue, status__in=OPEN_STATUSES, sla_paused_at__isnull=True
            )
            .exclude(escalations__rule=rule)
            .order_by("sla_due_at", "id")[:ESCALATION_BATCH]
        )
        for ticket in tickets:
            try:
                with transaction.atomic():
                    SlaEscalation.objects.create(ticket=ticket, rule=rule, fired_at=now)
                    _act(rule, ticket, now)
            except IntegrityError:
                continue  # another beat fired it first
            fired += 1
    return fired


def _act(rule, ticket: Ticket, now: datetime) -> None:
    from django.utils.translation import gettext

    from helpdesk.tickets import realtime
    from helpdesk.tickets.models import EventKind, Priority
    from helpdesk.tickets.services import add_system_event, update_ticket

    due = ticket.first_response_due_at if rule.target == "first_response" else ticket.resolution_due_at
    target = rule.get_target_display()
    if due is not None and due <= now:
        body = gettext("SLA escalation: %(target)s target missed.") % {"target": target}
    else:
        body = gettext("SLA escalation: %(target)s target due soon.") % {"target": target}
    add_system_event(
        customer_id=ticket.customer_id,
        ticket=ticket,
        kind=EventKind.NOTE,
        body=body,
        payload={
            "action": "sla_escalation",
            "rule": rule.pk,
            "escalation": rule.action,
            "target": rule.target,
        },
    )
    if rule.action == "raise_priority" and ticket.priority > Priority.URGENT:
        update_ticket(ticket=ticket, priority=ticket.priority - 1)
    elif rule.action == "reassign":
        update_ticket(ticket=ticket, assignee=rule.assign_to)
    else:
        realtime.ticket_changed(ticket)
