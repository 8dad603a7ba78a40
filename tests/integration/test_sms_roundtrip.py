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


def test_a_burst_with_retries_records_every_message_once(fake_twilio, celery_worker_process, app_server):
    """A surge through the production server (2 processes × 8 threads: group commits, the wake skip
    window) and a real worker (coalesced, lingering drains): 200 messages from 20 customers, each
    posted twice as Twilio retries do, 16 at a time, in random order. Every message becomes exactly
    one timeline event, each customer has one ticket, and nothing is left waiting in the inbox."""
    import random
    import secrets
    from concurrent.futures import ThreadPoolExecutor

    from helpdesk.messaging.models import InboxMessage

    customers = [f"+1415555{1000 + i:04d}" for i in range(20)]
    messages = [
        ("SM" + secrets.token_hex(16), customers[i % 20], f"message {i} — پیام {i}") for i in range(200)
    ]
    posts = messages * 2
    random.Random(7).shuffle(posts)

    def post(message: tuple[str, str, str]) -> int:
        sid, sender, body = message
        return app_server.post_sms(sender=sender, body=body, sid=sid).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, posts))
    assert statuses == [200] * 400
    sids = [sid for sid, _, _ in messages]
    wait_until(lambda: TimelineEvent.objects.filter(provider_id__in=sids).count() >= 200, timeout=60)
    assert InboxMessage.objects.filter(provider_id__in=sids).count() == 200
    wait_until(lambda: not InboxMessage.objects.filter(processed_at__isnull=True).exists(), timeout=10)
    events = TimelineEvent.objects.filter(provider_id__in=sids)
    assert events.count() == 200
    assert {e.body for e in events} == {body for _, _, body in messages}
    assert Ticket.objects.filter(customer__contact_points__value__in=customers).distinct().count() == 20


def test_a_message_inside_the_wake_skip_window_is_recorded_without_the_sweep(
    fake_twilio, celery_worker_process, app_server
):
    """A message that arrives while its web process skips the Redis wake (within the skip window of
    the previous one) relies on the drain the previous message woke: that drain must still be
    claiming. The servers here run a 300 ms window; the second message of each pair goes over the
    same connection (same web process) 100-200 ms after the first, when that message's drain has
    claimed it already. No beat runs here, so a message the drains missed would wait for the sweep
    forever."""
    import time

    import httpx

    from tests.fixtures.processes import INTEGRATION_WAKE_SKIP_MS

    with httpx.Client() as client:
        for i in range(4):
            first = app_server.post_sms(sender=CUSTOMER, body=f"first {i}", client=client)
            wait_until(
                lambda i=i: TimelineEvent.objects.filter(body=f"first {i}").exists(), timeout=5, step=0.01
            )
            time.sleep(INTEGRATION_WAKE_SKIP_MS / 1000 / 6)
            second = app_server.post_sms(sender=CUSTOMER, body=f"second {i}", client=client)
            assert (first.status_code, second.status_code) == (200, 200)
            wait_until(lambda i=i: TimelineEvent.objects.filter(body=f"second {i}").exists(), timeout=5)
            time.sleep(INTEGRATION_WAKE_SKIP_MS / 1000 * 2.5)  # let every window and linger end
    assert TimelineEvent.objects.filter(direction=Direction.IN, channel="sms").count() == 8
