"""SMS end to end with real processes: a customer's signed SMS reaches the app server (gunicorn),
becomes a ticket, the agent's reply goes out through a real Celery worker and the real Twilio SDK to
the fake Twilio, whose signed status callbacks come back to the app server until "delivered".
"""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import DeliveryStatus, Direction, EventKind, Ticket, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import UserFactory
from tests.fixtures.processes import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "+14155550142"


def test_customer_sms_to_agent_reply_delivered(fake_twilio, celery_worker_process, app_server):
    response = app_server.post_sms(sender=CUSTOMER, body="Bleeding won't stop — سلام 🩸")
    assert response.status_code == 200
    assert "<Response/>" in response.text

    inbound = wait_until(
        lambda: (
            TimelineEvent.objects.filter(direction=Direction.IN, channel="sms")
            .select_related("ticket")
            .first()
        )
    )
    assert inbound.body == "Bleeding won't stop — سلام 🩸"
    ticket = Ticket.objects.get(pk=inbound.ticket_id)

    agent = UserFactory(username="roundtrip-agent")
    reply = send_reply(ticket=ticket, author=agent, body="Press firmly on the wound; help is coming.")

    sent = fake_twilio.wait_for(to=CUSTOMER)
    assert sent[0]["body"] == "Press firmly on the wound; help is coming."
    assert sent[0]["status_callback"] == f"{app_server.url}/webhooks/twilio/sms/status/"

    def delivered():
        reply.refresh_from_db()
        return reply.delivery_status == DeliveryStatus.DELIVERED

    wait_until(delivered, timeout=20)
    assert reply.provider == "twilio" and reply.provider_id == sent[0]["sid"]
    assert reply.kind == EventKind.MESSAGE


def test_opted_out_number_gets_nothing(fake_twilio, celery_worker_process, app_server):
    assert app_server.post_sms(sender=CUSTOMER, body="hi").status_code == 200
    inbound = wait_until(lambda: TimelineEvent.objects.filter(direction=Direction.IN).first())
    assert app_server.post_sms(sender=CUSTOMER, body=" stop ").status_code == 200
    wait_until(lambda: TimelineEvent.objects.filter(kind=EventKind.CONSENT).exists())

    ticket = Ticket.objects.get(pk=inbound.ticket_id)
    reply = send_reply(ticket=ticket, author=UserFactory(username="optout-agent"), body="Are you safe?")
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.BLOCKED
    assert fake_twilio.messages(to=CUSTOMER) == []
