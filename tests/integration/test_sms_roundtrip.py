"""SMS end to end: a real app server, Celery worker, Redis, PostgreSQL and the fake Twilio."""

from __future__ import annotations

import time

import pytest

from helpdesk.tickets.models import Direction, Ticket, TimelineEvent
from helpdesk.tickets.services import send_reply

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMER = "+14155550188"


def wait(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s")


def test_customer_sms_agent_reply_delivered(fake_twilio, celery_worker_process, app_server, agent):
    response = app_server.post_sms(sender=CUSTOMER, body="آب وارد خانه شده، کمک کنید")
    assert response.status_code == 200 and "<Response/>" in response.text
    ticket = wait(lambda: Ticket.objects.filter(customer__contact_points__value=CUSTOMER).first())
    assert ticket.channel == "sms"

    reply = send_reply(ticket=ticket, author=agent, body="A boat is on its way. قایق در راه است.")
    sent = wait(lambda: fake_twilio.messages(to=CUSTOMER))
    assert sent[0]["body"] == reply.body
    assert sent[0]["status_callback"].endswith("/webhooks/twilio/sms/status/")

    # The fake calls back, signed: queued → sent → delivered.
    wait(lambda: TimelineEvent.objects.get(pk=reply.pk).delivery_status == "delivered")
    reply.refresh_from_db()
    assert reply.provider == "twilio" and reply.provider_id == sent[0]["sid"]
    inbound = TimelineEvent.objects.get(ticket=ticket, direction=Direction.IN)
    assert inbound.body.startswith("آب")


def test_stop_then_reply_is_not_sent_and_start_sends_again(
    fake_twilio, celery_worker_process, app_server, agent
):
    app_server.post_sms(sender=CUSTOMER, body="hello")
    ticket = wait(lambda: Ticket.objects.filter(customer__contact_points__value=CUSTOMER).first())
    app_server.post_sms(sender=CUSTOMER, body="STOP")
    wait(lambda: ticket.customer.contact_points.get(value=CUSTOMER).opted_out_at is not None)

    blocked = send_reply(ticket=ticket, author=agent, body="Are you safe?")
    assert blocked.delivery_status == "blocked" and "opted out" in blocked.delivery_error
    time.sleep(1)
    assert fake_twilio.messages(to=CUSTOMER) == []

    app_server.post_sms(sender=CUSTOMER, body="START")
    wait(lambda: ticket.customer.contact_points.get(value=CUSTOMER).opted_out_at is None)
    wait(lambda: fake_twilio.messages(to=CUSTOMER))  # the "subscribed again" confirmation
    again = send_reply(ticket=ticket, author=agent, body="Are you safe now?")
    wait(lambda: any(m["body"] == again.body for m in fake_twilio.messages(to=CUSTOMER)))
