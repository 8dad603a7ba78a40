"""Crisis email broadcasts: the same planner, rate limit and crash-safe dispatch as SMS, through a
real SMTP server; each address once, with one-click unsubscribe headers (RFC 8058) that opt out."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from helpdesk.crisis.models import BroadcastDelivery, BroadcastStatus, DeliveryState
from helpdesk.crisis.services import create_broadcast, dispatch_broadcast, plan_broadcast
from helpdesk.customers.models import ContactPoint
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.mails import mail
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db
N = 300


@pytest.fixture(autouse=True)
def _fresh_buckets():
    from helpdesk import redis_client

    client = redis_client.get()
    for pattern in ("tourniquet:bucket:*", "tourniquet:broadcast:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)


def _emails(n: int) -> list[ContactPoint]:
    return [
        ContactPointFactory(
            customer=CustomerFactory(tags=["flood"]),
            kind="email",
            value=f"person{i}@example.com",
            verified=True,
        )
        for i in range(n)
    ]


def test_each_address_gets_it_once_with_unsubscribe_headers_and_the_link_opts_out(client, smtp_server):
    _emails(N)
    broadcast = create_broadcast(
        name="Flood: branches closed today",
        bodies={"en": "All branches in the north are closed today. Freeze a card at /portal/."},
        audience={"tags": ["flood"]},
        rate_per_second=0,
        channel="email",
    )
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    plan_broadcast(broadcast_id=broadcast.pk)
    dispatch_broadcast(broadcast_id=broadcast.pk)
    received = smtp_server.received
    recipients = [r for rcpts, _, _ in received for r in rcpts]
    assert len(recipients) == N and len(set(recipients)) == N
    assert BroadcastDelivery.objects.filter(broadcast=broadcast, status=DeliveryState.SENT).count() == N
    _, first, _ = received[0]
    assert first["Subject"] == "Flood: branches closed today"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["Auto-Submitted"] == "auto-generated"
    link = re.search(r"<(https?://[^>]+)>", str(first["List-Unsubscribe"])).group(1)
    to = str(first["To"])
    # A GET only asks; the one-click POST (what mail clients send) opts the address out.
    path = urlparse(link).path
    assert client.get(path).status_code == 200
    assert ContactPoint.objects.get(value=to).opted_out_at is None
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert ContactPoint.objects.get(value=to).opted_out_at is not None
    assert client.post(path[:-5] + "xxxx/").status_code in (400, 404)


def test_each_recipient_gets_the_subject_and_body_of_their_language(smtp_server):
    persian, english = _emails(2)
    persian.customer.language = "fa"
    persian.customer.save(update_fields=["language"])
    broadcast = create_broadcast(
        name="Flood update",
        bodies={"en": "Branches are closed.", "fa": "شعبه‌ها بسته‌اند."},
        subjects={"en": "Branches closed", "fa": "شعبه‌ها بسته‌اند"},
        audience={"tags": ["flood"]}, rate_per_second=0, channel="email",
    )  # fmt: skip
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    plan_broadcast(broadcast_id=broadcast.pk)
    dispatch_broadcast(broadcast_id=broadcast.pk)
    by_address = {rcpts[0]: msg for rcpts, msg, _ in smtp_server.received}
    assert str(by_address[persian.value]["Subject"]) == "شعبه‌ها بسته‌اند"
    assert "شعبه‌ها بسته‌اند." in by_address[persian.value].get_body(("plain",)).get_content()
    assert str(by_address[english.value]["Subject"]) == "Branches closed"


def test_replies_to_a_broadcast_land_in_each_customers_own_ticket(client, smtp_server):
    from helpdesk.tickets.models import Ticket

    points = _emails(3)
    broadcast = create_broadcast(
        name="Flood update", bodies={"en": "Reply with your address."}, audience={"tags": ["flood"]},
        rate_per_second=0, channel="email",
    )  # fmt: skip
    broadcast.status = BroadcastStatus.PLANNING
    broadcast.save(update_fields=["status"])
    plan_broadcast(broadcast_id=broadcast.pk)
    dispatch_broadcast(broadcast_id=broadcast.pk)
    by_address = {rcpts[0]: msg for rcpts, msg, _ in smtp_server.received}
    for point in points:
        sent = by_address[point.value]
        post_mail(
            client,
            mail(
                sender=point.value, subject="Re: " + str(sent["Subject"]), in_reply_to=str(sent["Message-ID"])
            ),
        )
    assert Ticket.objects.count() == 3
    assert {t.customer_id for t in Ticket.objects.all()} == {p.customer_id for p in points}
