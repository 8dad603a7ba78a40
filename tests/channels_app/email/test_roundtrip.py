"""Acceptance 1: real SMTP both ways. A customer's mail opens a ticket; the agent's reply reaches
the customer's mailbox with threading headers; the customer's reply to it lands in the same ticket."""

from __future__ import annotations

import pytest

from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import Ticket, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.channels_app.email.conftest import post_mail, sign
from tests.channels_app.email.mails import mail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_mail_in_reply_out_reply_back_in_one_ticket(client, smtp_server, django_capture_on_commit_callbacks):
    first = mail(message_id="<first-1@example.com>")
    response = post_mail(client, first)
    assert response.status_code == 202
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.subject == "Flooded basement, claim help"
    event = ticket.events.get()
    assert event.body == "Our basement is flooded. What do we do first?"
    assert event.contact_point.value == "maryam@example.com" and event.contact_point.verified

    agent = UserFactory(first_name="Dara", last_name="K")
    with django_capture_on_commit_callbacks(execute=True):  # the relay runs after the commit
        reply = send_reply(ticket=ticket, author=agent, body="Turn off the power at the fuse box first.")
    reply.refresh_from_db()
    assert reply.delivery_status == "sent", reply.delivery_error
    (received,) = smtp_server.to("maryam@example.com")
    assert received["In-Reply-To"] == "<first-1@example.com>"
    assert "<first-1@example.com>" in received["References"]
    assert f"[#{ticket.pk}]" in received["Subject"] and received["Subject"].startswith("Re: ")
    assert received["Message-ID"].strip("<>") == reply.provider_id
    assert "Dara K via" in received["From"]
    assert received["Reply-To"].addresses[0].addr_spec.startswith("help+t")
    assert received.get_body(("plain",)).get_content().strip() == "Turn off the power at the fuse box first."
    assert received.get_body(("html",)) is not None

    answer = mail(
        subject="Re: " + str(received["Subject"]),
        body="Done, the power is off.\n\nOn Tue, Dara wrote:\n> Turn off the power at the fuse box first.",
        in_reply_to=str(received["Message-ID"]),
        references=str(received["Message-ID"]),
    )
    assert post_mail(client, answer).status_code == 202
    assert Ticket.objects.count() == 1
    last = ticket.events.filter(direction="in").order_by("-id").first()
    assert last.body == "Done, the power is off."
    assert "Turn off the power" in last.payload["quoted"]
    assert last.payload["threaded_by"] == "headers"


def test_door_refuses_unsigned_and_wrong_signature_and_oversize(client, settings):
    raw = mail()
    assert post_mail(client, raw, signature="").status_code == 403
    assert post_mail(client, raw, signature="sha256=" + "0" * 64).status_code == 403
    settings.EMAIL_MAX_BYTES = 1000
    big = mail(body="x" * 5000)
    response = client.post(
        "/webhooks/email/inbound/", data=big, content_type="message/rfc822",
        headers={"X-Tourniquet-Signature": sign(big)},
    )  # fmt: skip
    assert response.status_code == 413
    assert not InboxMessage.objects.exists()


def test_door_stores_once_and_rejects_garbage(client):
    raw = mail(message_id="<dup-1@example.com>")
    assert post_mail(client, raw).status_code == 202
    assert post_mail(client, raw).status_code == 200  # a retry: already stored
    assert InboxMessage.objects.count() == 1 and TimelineEvent.objects.count() == 1
    assert post_mail(client, b"").status_code == 400
    assert post_mail(client, b"\x00\x01 not mail at all").status_code == 400


def test_replies_come_from_our_address_whatever_the_customer_wrote_to(
    client, smtp_server, django_capture_on_commit_callbacks
):
    post_mail(client, mail(to="ceo@bank.example, billing@desk.test", message_id="<to-1@example.com>"))
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        send_reply(ticket=ticket, author=UserFactory(), body="On it.")
    (received,) = smtp_server.to("maryam@example.com")
    assert received["From"].addresses[0].addr_spec == "billing@desk.test"
    post_mail(client, mail(to="ceo@bank.example", subject=f"Re: [#{ticket.pk}]", body="more"))
    with django_capture_on_commit_callbacks(execute=True):
        send_reply(ticket=ticket, author=UserFactory(), body="Still on it.")
    latest = smtp_server.to("maryam@example.com")[-1]
    assert latest["From"].addresses[0].addr_spec == "help@desk.test"
