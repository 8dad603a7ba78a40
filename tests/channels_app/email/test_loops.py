"""Acceptance 5: bounces and auto-replies cause no reply loop; a DSN marks the address bouncing."""

from __future__ import annotations

import pytest

from helpdesk.customers.models import ContactPoint
from helpdesk.tickets.models import Ticket, TicketStatus
from helpdesk.tickets.services import send_reply, update_ticket
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.mails import mail
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "headers,subject",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: your claim"),
        ({"X-Autoreply": "yes"}, "Re: your claim"),
        ({"Precedence": "bulk"}, "Re: your claim"),
        ({}, "Out of Office: back Monday"),
        ({}, "Automatic reply: your claim"),
    ],
)
def test_auto_replies_never_reopen_or_get_answered(client, headers, subject, settings):
    settings.INBOUND_HANDLERS = ["tests.channels_app.email.test_loops.answer_everything"]
    ANSWERED.clear()
    post_mail(client, mail(message_id="<a@example.com>"))
    ticket = Ticket.objects.get()
    assert [ticket.pk] == ANSWERED  # a person's mail is offered to the handlers
    update_ticket(ticket=ticket, status=TicketStatus.SOLVED)
    post_mail(
        client, mail(subject=subject, in_reply_to="<a@example.com>", headers=headers, body="I am away.")
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.SOLVED
    assert ticket.events.order_by("-id").first().payload["automated"] is True
    assert [ticket.pk] == ANSWERED  # the auto-reply was not


def test_a_persons_reply_reopens_a_solved_ticket(client):
    post_mail(client, mail(message_id="<b@example.com>"))
    ticket = Ticket.objects.get()
    update_ticket(ticket=ticket, status=TicketStatus.SOLVED)
    post_mail(client, mail(in_reply_to="<b@example.com>", body="It is flooding again."))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


ANSWERED: list[int] = []


def answer_everything(event) -> bool:
    ANSWERED.append(event.ticket_id)
    return True


def _dsn(original_id: str, recipient: str, status: str = "5.1.1", action: str = "failed") -> bytes:
    """A bounce as Postfix writes one (RFC 3464: multipart/report, delivery-status, the headers)."""
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: help@desk.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{original_id}>\r\nSubject: Re: Flooded basement\r\n\r\n--B--\r\n"
    ).encode()


def test_a_dsn_marks_the_address_bouncing_and_shows_on_the_reply(
    client, smtp_server, django_capture_on_commit_callbacks
):
    post_mail(client, mail(message_id="<c@example.com>"))
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(ticket=ticket, author=UserFactory(), body="We will call you.")
    reply.refresh_from_db()
    assert reply.delivery_status == "sent"
    events_before = ticket.events.count()
    assert post_mail(client, _dsn(reply.provider_id, "maryam@example.com")).status_code == 202
    reply.refresh_from_db()
    assert reply.delivery_status == "undelivered" and "5.1.1" in reply.delivery_error
    assert ContactPoint.objects.get(value="maryam@example.com").bouncing_at is not None
    assert ticket.events.count() == events_before  # the bounce is no customer message, no ticket
    assert Ticket.objects.count() == 1
    # The next reply is blocked with a reason instead of bouncing again.
    later = send_reply(ticket=ticket, author=UserFactory(), body="Hello?")
    assert later.delivery_status == "blocked" and "bounces" in later.delivery_error


def test_a_dsn_for_a_message_we_never_sent_changes_nothing(client):
    post_mail(client, mail(message_id="<d@example.com>"))
    post_mail(client, _dsn("forged-id@desk.test", "maryam@example.com"))
    assert ContactPoint.objects.get(value="maryam@example.com").bouncing_at is None
    assert Ticket.objects.count() == 1


def test_smtp_refusal_marks_the_address_bouncing(client, smtp_server, django_capture_on_commit_callbacks):
    post_mail(client, mail(message_id="<e@example.com>"))
    ticket = Ticket.objects.get()
    smtp_server.refuse.add("maryam@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(ticket=ticket, author=UserFactory(), body="Hello")
    reply.refresh_from_db()
    assert reply.delivery_status == "failed" and "550" in reply.delivery_error
    assert ContactPoint.objects.get(value="maryam@example.com").bouncing_at is not None


def test_a_mail_loop_is_kept_but_answered_only_up_to_the_per_address_limit(client, settings):
    settings.EMAIL_SENDER_LIMIT = 3
    settings.INBOUND_HANDLERS = ["tests.channels_app.email.test_loops.answer_everything"]
    ANSWERED.clear()
    for n in range(6):  # another desk's responder that answers each of our answers with a new mail
        post_mail(client, mail(subject=f"Ticket received {n}", body="We got your message."))
    assert Ticket.objects.count() == 6  # every mail kept and shown
    assert len(ANSWERED) == 3
    looped = Ticket.objects.order_by("-id").first().events.get()
    assert looped.payload["automated"] is True
    assert "more than 3 messages" in looped.payload["automated_reason"]
