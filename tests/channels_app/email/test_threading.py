"""Acceptance 3: each threading rule, in order, and the cases every other desk gets wrong."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from channels_app.email.thread import reply_address
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.mails import mail, message

pytestmark = pytest.mark.django_db


def _first(client, sender="Maryam <maryam@example.com>", message_id="<start@example.com>") -> Ticket:
    assert post_mail(client, mail(sender=sender, message_id=message_id)).status_code == 202
    return Ticket.objects.order_by("-id").first()


def test_reply_by_in_reply_to_lands_in_the_ticket(client):
    ticket = _first(client)
    post_mail(client, mail(subject="Re: something else", in_reply_to="<start@example.com>", body="more"))
    assert Ticket.objects.count() == 1
    assert ticket.events.count() == 2


def test_reference_in_subject_when_the_client_dropped_in_reply_to(client):
    ticket = _first(client)
    post_mail(client, mail(subject=f"Re: Flooded basement [#{ticket.pk}]", body="Any news?"))
    assert Ticket.objects.count() == 1
    event = ticket.events.order_by("-id").first()
    assert event.body == "Any news?" and event.payload["threaded_by"] == "subject"


def test_reply_address_token(client):
    ticket = _first(client)
    post_mail(client, mail(to=reply_address("help@desk.test", ticket.pk), subject="no reference", body="hi"))
    assert ticket.events.order_by("-id").first().payload["threaded_by"] == "token"
    # A forged token (wrong mac) names nothing: a ticket of its own.
    post_mail(client, mail(to=f"help+t{ticket.pk}.000000000000@desk.test", subject="forged", body="x"))
    assert Ticket.objects.count() == 2


def test_a_forwarded_chain_goes_to_the_original_ticket(client):
    ticket = _first(client)
    inner = EmailMessage()
    inner["From"] = "help@desk.test"
    inner["Subject"] = "About your claim"
    inner["Message-ID"] = "<reply-from-us@desk.test>"
    inner["In-Reply-To"] = "<start@example.com>"
    inner.set_content("We are on it.")
    outer = message(
        sender="Maryam <maryam@example.com>",
        subject="Fwd: About your claim",
        message_id="<fwd-1@example.com>",
    )
    outer.set_content("See below, still no answer on the second point.")
    outer.add_attachment(inner)
    post_mail(client, outer.as_bytes())
    assert Ticket.objects.count() == 1
    event = ticket.events.order_by("-id").first()
    assert event.payload["threaded_by"] == "forwarded"
    assert event.payload["forwarded"][0]["subject"] == "About your claim"


def test_three_customers_replying_to_one_broadcast_get_three_tickets(client):
    shared = "<crisis-broadcast-7@desk.test>"  # one newsletter's id, on no ticket
    for n in range(3):
        post_mail(
            client,
            mail(
                sender=f"c{n}@example.com", subject="Re: Flood update", in_reply_to=shared, references=shared
            ),
        )
    assert Ticket.objects.count() == 3
    assert {t.customer.contact_points.get().value for t in Ticket.objects.all()} == {
        "c0@example.com", "c1@example.com", "c2@example.com",
    }  # fmt: skip


def test_no_hint_opens_a_new_ticket_even_with_one_open(client):
    _first(client)
    post_mail(client, mail(subject="A second, separate problem", body="My car too."))
    assert Ticket.objects.count() == 2


def test_a_hint_never_reaches_someone_elses_ticket(client):
    ticket = _first(client)
    post_mail(
        client,
        mail(sender="mallory@example.org", subject=f"Re: [#{ticket.pk}]", in_reply_to="<start@example.com>"),
    )
    assert ticket.events.count() == 1
    assert Ticket.objects.count() == 2


def test_unauthenticated_mail_is_an_unproven_sender(client):
    ticket = _first(client)
    post_mail(client, mail(in_reply_to="<start@example.com>", authenticated=False, body="spoofed?"))
    # Not threaded into Maryam's ticket and not attached to her: a new customer without her point.
    assert ticket.events.count() == 1
    other = Ticket.objects.exclude(pk=ticket.pk).get()
    assert other.customer_id != ticket.customer_id
    assert not other.customer.contact_points.exists()


def test_same_message_twice_is_recorded_once_and_no_message_id_uses_the_body_hash(client):
    raw = mail(message_id="<once@example.com>")
    post_mail(client, raw)
    post_mail(client, raw)
    assert TimelineEvent.objects.filter(direction="in").count() == 1
    bare = b"From: a@example.com\r\nSubject: no id\r\n\r\nhello\r\n"
    assert post_mail(client, bare).status_code == 202
    assert post_mail(client, bare).status_code == 200
