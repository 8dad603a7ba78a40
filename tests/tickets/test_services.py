"""Ticket actions: counters stay exact, changes become events, delivery only moves forward."""

from __future__ import annotations

import pytest

from channels_app.base import DeliveryReport, DeliveryStatus
from helpdesk.customers.services import opt_out
from helpdesk.errors import ApplicationError
from helpdesk.messaging.delivery import record_delivery_report
from helpdesk.tickets.models import Macro, Priority, QueueCounter, Ticket, TimelineEvent
from helpdesk.tickets.services import (
    add_note,
    create_ticket,
    recount_queue_counters,
    render_macro,
    send_reply,
    update_ticket,
)
from tests.factories import ContactPointFactory, CustomerFactory, QueueFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def counts() -> dict[tuple[int, str], int]:
    return {(c.queue_id, c.status): c.count for c in QueueCounter.objects.all() if c.count}


def test_counters_follow_creates_status_and_queue_moves(agent):
    q1, q2 = QueueFactory(), QueueFactory()
    t = create_ticket(customer=CustomerFactory(), subject="Flooded shop", queue=q1)
    assert counts() == {(q1.pk, "new"): 1}
    update_ticket(ticket=t, actor=agent, status="open", queue=q2)
    assert counts() == {(q2.pk, "open"): 1}
    update_ticket(ticket=t, actor=agent, status="solved")
    assert counts() == {}
    before = counts()
    recount_queue_counters()
    assert counts() == before


def test_each_change_is_a_timeline_event(agent):
    t = create_ticket(customer=CustomerFactory(), subject="Card frozen")
    update_ticket(ticket=t, actor=agent, status="pending", priority=Priority.URGENT, assignee=agent)
    kinds = set(TimelineEvent.objects.filter(ticket=t).values_list("kind", flat=True))
    assert {"status_change", "priority_change", "assignment"} <= kinds


def test_urgent_priority_pulls_the_sla_in(agent):
    t = create_ticket(customer=CustomerFactory(), subject="x")
    before = t.sla_due_at
    t = update_ticket(ticket=t, actor=agent, priority=Priority.URGENT)
    assert t.sla_due_at < before


def test_unknown_status_is_refused(agent):
    t = create_ticket(customer=CustomerFactory(), subject="x")
    with pytest.raises(ApplicationError):
        update_ticket(ticket=t, actor=agent, status="exploded")


def test_reply_to_opted_out_customer_is_recorded_as_not_sent_with_reason(agent):
    customer = CustomerFactory()
    point = ContactPointFactory(customer=customer)
    t = create_ticket(customer=customer, subject="x", channel="sms")
    opt_out(contact_point=point, reason="STOP")
    event = send_reply(ticket=t, author=agent, body="hello", channel="sms")
    assert event.delivery_status == "blocked"
    assert "opted out" in event.delivery_error
    assert not hasattr(event, "outbox") or event.outbox is None


def test_empty_reply_and_note_are_refused(agent):
    t = create_ticket(customer=CustomerFactory(), subject="x")
    with pytest.raises(ApplicationError):
        send_reply(ticket=t, author=agent, body="   ")
    with pytest.raises(ApplicationError):
        add_note(ticket=t, author=agent, body="")


def test_delivery_status_never_moves_backwards():
    event = TimelineEventFactory(
        direction="out", provider="twilio", provider_id="SMx", delivery_status="queued"
    )
    for status in ["delivered", "sent", "queued"]:
        record_delivery_report(
            DeliveryReport(provider="twilio", provider_id="SMx", status=DeliveryStatus(status))
        )
    event.refresh_from_db()
    assert event.delivery_status == "delivered"


def test_macro_fills_customer_name():
    from helpdesk.tickets.models import Macro

    customer = CustomerFactory(name="مریم احمدی")
    t = create_ticket(customer=customer, subject="x")
    macro = Macro.objects.create(title="hi", body="Hello {{ customer.name }}, ticket #{{ ticket.id }}")
    assert render_macro(macro=macro, ticket=t) == f"Hello مریم احمدی, ticket #{t.pk}"


def test_ticket_is_never_left_without_customer():
    assert Ticket._meta.get_field("customer").null is False


def test_a_macro_fills_only_its_placeholders_and_never_reaches_model_objects(agent):
    from django.core.exceptions import ValidationError

    t = create_ticket(customer=CustomerFactory(name="Ravi"), subject="Card")
    macro = Macro(
        title="probe",
        body="{{ customer.name }} {{ agent.password }} {{ agent.first_name }} {% debug %} "
        "{{ ticket.customer.notes }}",
    )
    text = render_macro(macro=macro, ticket=t, agent=agent)
    assert text.startswith(
        f"Ravi {{{{ agent.password }}}} {agent.first_name or agent.username} {{% debug %}}"
    )
    assert "pbkdf2" not in text and "{{ ticket.customer.notes }}" in text
    with pytest.raises(ValidationError) as raised:
        macro.full_clean()
    assert "agent.password" in str(raised.value) and "ticket.customer.notes" in str(raised.value)
