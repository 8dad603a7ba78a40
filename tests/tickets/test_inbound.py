"""The one inbound path: resolve, thread, append exactly once."""

from __future__ import annotations

import pytest

from channels_app.base import InboundMessage
from helpdesk.tickets.models import Ticket, TimelineEvent
from helpdesk.tickets.services import record_inbound, send_reply
from tests.factories import inbound_sms

pytestmark = pytest.mark.django_db


def sms(body: str, sid: str, sender: str = "+14155550100") -> InboundMessage:
    return inbound_sms(body, sid, sender)


def test_first_message_opens_a_ticket_and_later_ones_thread_into_it():
    first = record_inbound(message=sms("Water in the basement", "SM1"))
    second = record_inbound(message=sms("Still rising", "SM2"))
    assert first.created and second.created
    assert first.event.ticket_id == second.event.ticket_id
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().subject == "Water in the basement"


def test_duplicate_provider_id_is_recorded_once():
    for _ in range(5):
        record_inbound(message=sms("hello", "SMdup"))
    assert TimelineEvent.objects.filter(provider_id="SMdup").count() == 1


def test_sender_is_normalized_to_e164():
    a = record_inbound(message=sms("a", "SMa", sender="(415) 555-0100"))
    b = record_inbound(message=sms("b", "SMb", sender="+1 415 555 0100"))
    assert a.event.customer_id == b.event.customer_id
    assert a.event.contact_point.value == "+14155550100"


def test_reply_goes_through_outbox_on_customers_last_channel(agent, django_capture_on_commit_callbacks):
    result = record_inbound(message=sms("help", "SMr"))
    with django_capture_on_commit_callbacks(execute=True):
        event = send_reply(ticket=result.event.ticket, author=agent, body="We are on it")
    event.refresh_from_db()
    assert event.channel == "sms"
    assert event.outbox.to == "+14155550100"
    assert event.delivery_status == "printed"  # the console gateway printed it: nothing left
    assert event.provider == "console"


def test_a_customer_answer_reopens_a_pending_ticket(agent):
    from helpdesk.tickets.services import update_ticket

    first = record_inbound(message=sms("Is the road open?", "SMp1"))
    update_ticket(ticket=first.event.ticket, actor=agent, status="pending")
    second = record_inbound(message=sms("Still waiting", "SMp2"))
    assert second.event.ticket_id == first.event.ticket_id
    assert Ticket.objects.get(pk=first.event.ticket_id).status == "open"
