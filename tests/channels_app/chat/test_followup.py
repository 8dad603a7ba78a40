"""Nobody can chat now: business hours, a follow-up on SMS or email proven by a one-time code, and
the conversation by email to a proven address."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.utils import timezone

from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.digits import ARABEXT, write
from helpdesk.messaging.models import Outbox
from helpdesk.tickets.models import Ticket, TimelineEvent
from helpdesk.tickets.services import reply_channel_for, send_reply

PHONE = "+351912345678"


def call(visitor, path: str, body: dict):
    return visitor.client.post(
        f"/chat/api/{visitor.widget.key}/{path}", json.dumps(body), content_type="application/json",
        **visitor._headers(),
    )  # fmt: skip


def sent_code(to: str) -> str:
    row = Outbox.objects.filter(to=to).latest("id")
    return re.search(r"\b(\d{6})\b", row.body).group(1)


@pytest.fixture
def chatting(visitor, django_capture_on_commit_callbacks):
    visitor.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert visitor.send("My card was frozen and I am in Lisbon").status_code == 202
    return visitor


def test_the_session_says_when_the_chat_is_closed_and_when_it_opens(visitor, widget):
    now = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(0))
    tomorrow = (now.weekday() + 1) % 7
    widget.time_zone, widget.hours = "UTC", [[tomorrow, "09:00", "17:00"]]
    widget.save()
    answer = visitor.start().json()
    assert answer["open"] is False and answer["online"] is False
    opens = timezone.datetime.fromisoformat(answer["opens_at"])
    assert opens.weekday() == tomorrow and (opens.hour, opens.minute) == (9, 0)
    widget.hours = [[now.weekday(), "00:00", "24:00"]]
    widget.save()
    answer = visitor.start().json()
    assert answer["open"] is True and answer["opens_at"] is None


def test_hours_that_do_not_parse_are_refused(widget):
    from django.core.exceptions import ValidationError

    for hours in ([[7, "09:00", "17:00"]], [[1, "9am", "17:00"]], [[1, "17:00", "09:00"]], "Mon-Fri"):
        widget.hours = hours
        with pytest.raises(ValidationError):
            widget.full_clean()


def test_a_follow_up_by_sms_is_proven_by_a_code_then_the_agent_answers_by_sms(
    chatting, agent, django_capture_on_commit_callbacks
):
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = call(
            chatting, "follow-up/", {"channel": "sms", "value": "+351 912 345 678", "purpose": "follow_up"}
        )
    assert answer.status_code == 202 and answer.json()["sent_to"] == PHONE
    code = sent_code(PHONE)
    shown = TimelineEvent.objects.get(ticket=ticket, channel="sms", direction="out")
    assert PHONE in shown.body and code not in shown.body  # agents see where, never the code
    assert not ContactPoint.objects.filter(value=PHONE).exists()  # nothing attached before proof
    wrong = call(
        chatting,
        "follow-up/verify/",
        {"code": "000000" if code != "000000" else "111111", "purpose": "follow_up"},
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "wrong_code"
    answer = call(
        chatting, "follow-up/verify/", {"code": write(code, ARABEXT), "purpose": "follow_up"}
    )  # ۱۲۳ digits
    assert answer.status_code == 200 and answer.json() == {"verified": True, "address": PHONE}
    point = ContactPoint.objects.get(value=PHONE)
    assert point.verified and point.customer_id == ticket.customer_id
    assert reply_channel_for(ticket) == "sms"
    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(ticket=ticket, author=agent, body="Your card is unfrozen.")
    assert reply.channel == "sms" and reply.contact_point == point
    assert (
        call(chatting, "follow-up/verify/", {"code": code, "purpose": "follow_up"}).json()["error"]
        == "no_code"
    )


def test_five_wrong_codes_end_the_code(chatting):
    call(chatting, "follow-up/", {"channel": "email", "value": "leyla@example.org", "purpose": "follow_up"})
    code = sent_code("leyla@example.org")
    wrong = "000000" if code != "000000" else "111111"
    errors = [
        call(chatting, "follow-up/verify/", {"code": wrong, "purpose": "follow_up"}).json()["error"]
        for _ in range(5)
    ]
    assert errors == ["wrong_code"] * 4 + ["locked"]
    assert (
        call(chatting, "follow-up/verify/", {"code": code, "purpose": "follow_up"}).json()["error"]
        == "no_code"
    )
    assert not ContactPoint.objects.filter(value="leyla@example.org").exists()


def test_codes_to_one_visitor_are_limited(chatting):
    for _ in range(3):
        assert (
            call(
                chatting, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"}
            ).status_code
            == 202
        )
    over = call(chatting, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"})
    assert over.status_code == 429 and over.json()["retry_after"] > 0


def test_bad_follow_ups_get_a_clear_error(visitor, chatting):
    assert (
        call(chatting, "follow-up/", {"channel": "fax", "value": "1", "purpose": "follow_up"}).status_code
        == 400
    )
    assert (
        call(
            chatting, "follow-up/", {"channel": "email", "value": "not an address", "purpose": "follow_up"}
        ).status_code
        == 400
    )
    stranger = type(chatting)(chatting.client, chatting.widget)
    stranger.start()
    answer = call(stranger, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"})
    assert answer.status_code == 409 and answer.json()["error"] == "no_conversation"


def test_the_conversation_goes_by_email_only_to_a_proven_address(
    chatting, django_capture_on_commit_callbacks
):
    ticket = Ticket.objects.get()
    refused = call(chatting, "transcript/", {})
    assert refused.status_code == 409 and refused.json()["error"] == "needs_email"
    call(chatting, "follow-up/", {"channel": "email", "value": "Leyla@Example.org", "purpose": "transcript"})
    code = sent_code("leyla@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        answer = call(chatting, "follow-up/verify/", {"code": code, "purpose": "transcript"}).json()
    assert answer["transcript_to"] == "leyla@example.org"
    mail = Outbox.objects.filter(to="leyla@example.org").latest("id")
    assert "My card was frozen and I am in Lisbon" in mail.body and mail.channel == "email"
    assert reply_channel_for(ticket) == "chat"  # a transcript is not a request to move the chat


def test_an_address_of_another_customer_is_not_attached(chatting):
    other = Customer.objects.create(name="Someone else")
    ContactPoint.objects.create(customer=other, kind="phone", value=PHONE, verified=True)
    ticket = Ticket.objects.get()
    call(chatting, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"})
    answer = call(chatting, "follow-up/verify/", {"code": sent_code(PHONE), "purpose": "follow_up"}).json()
    assert answer == {"verified": True, "address": ""}
    assert ContactPoint.objects.get(value=PHONE).customer == other
    note = TimelineEvent.objects.filter(ticket=ticket, payload__has_key="proven_elsewhere").get()
    assert "Merge" in note.body and reply_channel_for(ticket) == "chat"


def test_a_code_expires(chatting, monkeypatch):
    from helpdesk.customers import codes

    monkeypatch.setattr(codes, "CODE_TTL_SECONDS", 1)
    call(chatting, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"})
    code = sent_code(PHONE)
    time.sleep(1.1)
    assert (
        call(chatting, "follow-up/verify/", {"code": code, "purpose": "follow_up"}).json()["error"]
        == "no_code"
    )


def test_no_code_goes_to_an_address_that_opted_out(chatting):
    from django.utils import timezone

    other = Customer.objects.create(name="Someone")
    ContactPoint.objects.create(
        customer=other, kind="phone", value=PHONE, verified=True, opted_out_at=timezone.now()
    )
    answer = call(chatting, "follow-up/", {"channel": "sms", "value": PHONE, "purpose": "follow_up"})
    assert answer.status_code == 400 and answer.json()["error"] == "cannot_send"
    assert not Outbox.objects.filter(to=PHONE).exists()
