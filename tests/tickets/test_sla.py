"""SLAs: targets per queue and priority, in business hours, paused while pending, escalated once.

Time is frozen by passing `now` to the services (create_ticket, update_ticket, sla.states,
sla.escalate): every assertion below is about a known instant."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from helpdesk.tickets import sla
from helpdesk.tickets.models import (
    BusinessHours,
    EscalationRule,
    Holiday,
    Priority,
    Queue,
    SlaTarget,
    Ticket,
    TicketStatus,
    TimelineEvent,
)
from helpdesk.tickets.selectors import QueueFilters, queue_page
from helpdesk.tickets.services import create_ticket, send_reply, update_ticket
from tests.factories import ContactPointFactory, CustomerFactory, QueueFactory

pytestmark = pytest.mark.django_db
TEHRAN = ZoneInfo("Asia/Tehran")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of the first week of June 2026 in Tehran (1 June 2026 is a Monday)."""
    return datetime(2026, 6, day, hour, minute, tzinfo=TEHRAN)


@pytest.fixture
def office(db):
    """A queue open Monday to Friday 09:00–17:00 Tehran time, closed on Wednesday 3 June."""
    queue = QueueFactory(slug="office", time_zone="Asia/Tehran")
    BusinessHours.objects.bulk_create(
        [BusinessHours(queue=queue, weekday=d, opens=time(9), closes=time(17)) for d in range(5)]
    )
    Holiday.objects.create(queue=queue, day=at(3, 0).date(), name="Holiday")
    SlaTarget.objects.create(
        queue=queue, priority=Priority.NORMAL, first_response_minutes=60, resolution_minutes=8 * 60
    )
    return queue


def test_the_calendar_counts_open_hours_only(office):
    calendar = sla.calendar_for(office)
    # Friday 16:30 + 1 h of open time: 30 min on Friday, 30 on Monday.
    assert calendar.add(at(5, 16, 30), timedelta(hours=1)) == at(8, 9, 30)
    # Tuesday 16:00 + 2 h: Wednesday is a holiday, so Thursday 10:00.
    assert calendar.add(at(2, 16), timedelta(hours=2)) == at(4, 10)
    assert calendar.between(at(5, 16, 30), at(8, 9, 30)) == timedelta(hours=1)
    assert calendar.between(at(6, 10), at(7, 10)) == timedelta(0)  # the weekend


def test_a_ticket_in_a_business_hours_queue_does_not_breach_overnight(office):
    ticket = create_ticket(customer=CustomerFactory(), subject="Card", queue=office, now=at(5, 16, 30))
    assert ticket.first_response_due_at == at(8, 9, 30)
    saturday = sla.states(ticket, now=at(6, 12))
    assert saturday["first_response"] == {"due_at": at(8, 9, 30), "state": "due"}
    assert sla.states(ticket, now=at(8, 9, 31))["first_response"]["state"] == "breached"


def test_an_answered_ticket_shows_met_and_sorts_by_its_next_target(office, agent):
    customer = CustomerFactory()
    ContactPointFactory(customer=customer)
    answered = create_ticket(customer=customer, subject="Answered", queue=office, now=timezone.now())
    waiting = create_ticket(
        customer=CustomerFactory(), subject="Waiting", queue=office, now=timezone.now() + timedelta(minutes=1)
    )
    send_reply(ticket=answered, author=agent, body="We are on it.")
    answered.refresh_from_db()
    states = sla.states(answered)
    assert states["first_response"]["state"] == "met"
    assert states["resolution"]["state"] == "due"
    assert answered.sla_due_at == answered.resolution_due_at  # sorted by the next target
    order = [t.pk for t in queue_page(agent=agent, filters=QueueFilters(queue=office.pk)).tickets]
    assert order.index(waiting.pk) < order.index(answered.pk)


def test_pending_on_the_customer_pauses_the_clocks(office, agent):
    ticket = create_ticket(customer=CustomerFactory(), subject="Docs", queue=office, now=at(1, 9))
    assert ticket.resolution_due_at == at(1, 17)
    update_ticket(ticket=ticket, actor=agent, status=TicketStatus.PENDING, now=at(1, 10))
    ticket.refresh_from_db()
    assert sla.states(ticket, now=at(2, 12))["resolution"]["state"] == "paused"  # past 17:00, not breached
    # Back the next day at 11:00: it waited 7 h of Monday and 2 h of Tuesday's open time.
    update_ticket(ticket=ticket, actor=agent, status=TicketStatus.OPEN, now=at(2, 11))
    ticket.refresh_from_db()
    assert ticket.sla_paused_seconds == 9 * 3600
    # The 7 h left at 10:00 run from Tuesday 11:00: 6 h that day, Wednesday is a holiday, 1 h Thursday.
    assert ticket.resolution_due_at == at(4, 10)
    assert sla.states(ticket, now=at(2, 16))["resolution"]["state"] == "due"


def test_a_raised_priority_uses_that_prioritys_targets(office, agent):
    SlaTarget.objects.create(
        queue=office, priority=Priority.URGENT, first_response_minutes=15, resolution_minutes=120
    )
    ticket = create_ticket(customer=CustomerFactory(), subject="Fraud", queue=office, now=at(1, 9))
    update_ticket(ticket=ticket, actor=agent, priority=Priority.URGENT, now=at(1, 9, 5))
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == at(1, 9, 15) and ticket.resolution_due_at == at(1, 11)


def test_escalation_fires_once_per_ticket_and_rule(office, agent):
    EscalationRule.objects.create(queue=office, target="first_response", minutes_before=0, action="notify")
    EscalationRule.objects.create(
        queue=office, target="first_response", minutes_before=30, action="raise_priority"
    )
    ticket = create_ticket(customer=CustomerFactory(), subject="Late", queue=office, now=at(1, 9))
    assert sla.escalate(now=at(1, 9, 20)) == 0  # due 10:00: not within 30 min yet
    assert sla.escalate(now=at(1, 9, 40)) == 1  # within 30 min: the priority goes up
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert sla.escalate(now=at(1, 9, 45)) == 0  # fired already
    ticket.refresh_from_db()
    past_due = ticket.first_response_due_at + timedelta(minutes=1)
    assert sla.escalate(now=past_due) == 1  # the breach rule, once
    assert sla.escalate(now=past_due + timedelta(hours=1)) == 0
    notes = TimelineEvent.objects.filter(ticket=ticket, payload__action="sla_escalation")
    assert notes.count() == 2
    assert any("missed" in n.body for n in notes) and any("due soon" in n.body for n in notes)


def test_a_paused_or_answered_ticket_is_not_escalated(office, agent):
    EscalationRule.objects.create(queue=office, target="first_response", minutes_before=0, action="notify")
    pending = create_ticket(customer=CustomerFactory(), subject="Pending", queue=office, now=at(1, 9))
    update_ticket(ticket=pending, status=TicketStatus.PENDING, now=at(1, 9, 1))
    assert sla.escalate(now=at(4, 12)) == 0
    assert Ticket.objects.get(pk=pending.pk).escalations.count() == 0


def test_the_api_gives_every_ticket_its_sla(office, agent):
    from rest_framework.test import APIClient

    ticket = create_ticket(customer=CustomerFactory(), subject="API", queue=office, now=timezone.now())
    api = APIClient()
    api.force_authenticate(agent)
    body = api.get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert set(body["sla"]) == {"first_response", "resolution"}
    assert body["sla"]["first_response"]["state"] in sla.STATES
    listed = api.get("/api/v1/tickets/").json()["results"]
    assert all(set(t["sla"]) == {"first_response", "resolution"} for t in listed)


def test_the_breach_soon_list_holds_the_open_targets_within_the_hour(agent):
    from tests.factories import TicketFactory

    now = timezone.now()
    soon = TicketFactory(sla_due_at=now + timedelta(minutes=20))
    missed = TicketFactory(sla_due_at=now - timedelta(minutes=5))
    later = TicketFactory(sla_due_at=now + timedelta(hours=5))
    paused = TicketFactory(sla_due_at=now - timedelta(minutes=5), status="pending", sla_paused_at=now)

    def listed(which: str) -> set[int]:
        return {t.pk for t in queue_page(agent=agent, filters=QueueFilters(sla=which)).tickets}

    assert listed("soon") == {soon.pk, missed.pk}
    assert listed("breached") == {missed.pk}
    assert later.pk in listed("") and paused.pk in listed("")


def test_changed_hours_reach_the_cached_calendar(office):
    before = sla.calendar_for(Queue.objects.get(pk=office.pk))
    BusinessHours.objects.create(queue=office, weekday=5, opens=time(10), closes=time(14))  # Saturdays
    after = sla.calendar_for(Queue.objects.get(pk=office.pk))
    assert len(after.hours) == len(before.hours) + 1
    assert after.add(at(5, 16, 30), timedelta(hours=1)) == at(6, 10, 30)  # Saturday now counts
