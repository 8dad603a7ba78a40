"""STOP/START/HELP over the real webhook, sending through the real SDK to the fake Twilio process."""

from __future__ import annotations

import pytest

from channels_app.sms.consent import HELP_TEXTS
from helpdesk.customers.models import ContactPoint
from helpdesk.messaging.keywords import Keyword, keyword_of
from helpdesk.tickets.models import DeliveryStatus, EventKind, Ticket, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+14155550123"


@pytest.fixture
def text(twilio, django_capture_on_commit_callbacks):
    """A customer texts us; after-commit work (inbound handlers, sends) runs as it would."""

    def send(body: str, sender: str = PHONE):
        with django_capture_on_commit_callbacks(execute=True):
            assert twilio.sms(sender=sender, body=body).status_code == 200

    return send


def reply(body: str, django_capture_on_commit_callbacks):
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        event = send_reply(ticket=ticket, author=UserFactory(), body=body)
    event.refresh_from_db()
    return event


@pytest.mark.parametrize(
    "word", ["STOP", " stop ", "Stop.", "ＳＴＯＰ", "unsubscribe", "CANCEL", "end", "quit", "stopall"]
)
def test_stop_keywords_opt_out(word):
    assert keyword_of(word) is Keyword.STOP


def test_stop_then_agent_reply_reaches_nobody_and_says_why(
    text, fake_twilio, django_capture_on_commit_callbacks
):
    text("hello")
    text("STOP")
    point = ContactPoint.objects.get(value=PHONE)
    assert point.opted_out_at is not None
    assert TimelineEvent.objects.filter(kind=EventKind.CONSENT, payload__action="opt_out").count() == 1
    event = reply("Are you safe?", django_capture_on_commit_callbacks)
    assert event.delivery_status == DeliveryStatus.BLOCKED
    assert "opted out" in event.delivery_error and PHONE in event.delivery_error
    assert fake_twilio.messages(to=PHONE) == []


def test_start_resumes_sending(text, fake_twilio, django_capture_on_commit_callbacks):
    text("hello")
    text("STOP")
    text("start")
    assert ContactPoint.objects.get(value=PHONE).opted_out_at is None
    event = reply("Welcome back.", django_capture_on_commit_callbacks)
    assert event.delivery_status in (DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    bodies = [m["body"] for m in fake_twilio.messages(to=PHONE)]
    assert "Welcome back." in bodies
    assert any("STOP" in b for b in bodies)  # the resubscribe confirmation


def test_yes_is_not_consent_unless_opted_out(text, fake_twilio):
    text("hello")
    text("YES")
    yes = TimelineEvent.objects.filter(body="YES").get()
    assert not TimelineEvent.objects.filter(kind=EventKind.CONSENT).exists()
    assert yes.kind == EventKind.MESSAGE
    assert fake_twilio.messages(to=PHONE) == []


def test_help_answers_in_the_customers_language(text, fake_twilio):
    text("سلام، کمک")  # Persian script → the customer's language is fa
    text("HELP")
    sent = fake_twilio.wait_for(to=PHONE)
    assert sent[0]["body"].startswith(HELP_TEXTS["fa"])


def test_help_in_english_by_default(text, fake_twilio):
    text("hi there")
    text("info")
    assert fake_twilio.wait_for(to=PHONE)[0]["body"].startswith(HELP_TEXTS["en"])
