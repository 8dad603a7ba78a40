"""The inbound flood guard: past the per-ticket limit every message is kept and shown, nothing is
answered automatically, and STOP still opts out."""

from __future__ import annotations

import pytest

from helpdesk.customers.models import ContactPoint
from helpdesk.messaging import flood, inbox, tasks
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import Direction, EventKind, Ticket, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, inbound_sms
from triage import services as triage_services

pytestmark = pytest.mark.django_db
PHONE = "+14155550177"


@pytest.fixture
def phone(db):
    return ContactPointFactory(value=PHONE, customer=CustomerFactory(language="en"))


@pytest.fixture
def limit(settings):
    settings.INBOUND_TICKET_LIMIT = 3
    settings.INBOUND_TICKET_WINDOW_SECONDS = 600
    return 3


def flood_notes() -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(kind=EventKind.NOTE, payload__action="inbound_flood"))


def test_a_help_loop_is_kept_but_answered_only_up_to_the_limit(phone, limit):
    for i in range(6):
        assert inbox.accept(inbound_sms("HELP", f"SMflood{i}", PHONE))
    ticket = Ticket.objects.get(customer=phone.customer)
    inbound = TimelineEvent.objects.filter(ticket=ticket, direction=Direction.IN)
    assert inbound.count() == 6  # nothing lost
    assert Outbox.objects.filter(to=PHONE).count() == limit  # one HELP answer each, then silence
    (note,) = flood_notes()
    assert note.ticket == ticket and "Automatic replies paused" in note.body
    assert inbox.accept(inbound_sms("STOP", "SMflood-stop", PHONE))
    assert ContactPoint.objects.get(pk=phone.pk).opted_out_at is not None  # consent still acts
    assert len(flood_notes()) == 1  # noted once per window


def test_other_tickets_and_a_reset_are_not_affected(phone, limit):
    other = ContactPointFactory(value="+14155550178", customer=CustomerFactory())
    for i in range(limit + 1):
        inbox.accept(inbound_sms("HELP", f"SMmine{i}", PHONE))
    inbox.accept(inbound_sms("HELP", "SMother", other.value))
    assert Outbox.objects.filter(to=other.value).count() == 1
    flood.reset([Ticket.objects.get(customer=phone.customer).pk])
    inbox.accept(inbound_sms("HELP", "SMafter-reset", PHONE))
    assert Outbox.objects.filter(to=PHONE).count() == limit + 1


def test_a_flooded_ticket_feeds_no_triage_answers_in_the_batch_path(phone, limit, monkeypatch):
    from tests.triage.conftest import SMALL

    flow = triage_services.import_flow(data={"name": "Small", "slug": "small", "definition": SMALL}).flow
    run = triage_services.start_run(flow=flow, customer=phone.customer)
    flood.count([run.ticket_id] * limit)  # the ticket is at its limit already
    with monkeypatch.context() as m:  # stored as the webhook does; the drain below takes it
        m.setattr(tasks.drain_inbox, "delay", lambda *a, **k: None)
        conf = tasks.drain_inbox.app.conf
        eager, conf.task_always_eager = conf.task_always_eager, False
        try:
            assert inbox.accept(inbound_sms("1", "SMflood-answer", PHONE))
        finally:
            conf.task_always_eager = eager
    assert inbox.drain() == 1
    run.refresh_from_db()
    assert run.state["step"] == "hurt"  # not fed: no next question goes out
    event = TimelineEvent.objects.get(provider_id="SMflood-answer")
    assert event.ticket_id == run.ticket_id and event.kind == EventKind.MESSAGE  # kept, for an agent
    assert len(flood_notes()) == 1


def test_no_limit_when_it_is_zero(phone, settings):
    settings.INBOUND_TICKET_LIMIT = 0
    for i in range(5):
        inbox.accept(inbound_sms("HELP", f"SMnolimit{i}", PHONE))
    assert Outbox.objects.filter(to=PHONE).count() == 5 and not flood_notes()
