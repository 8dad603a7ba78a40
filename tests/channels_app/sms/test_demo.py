"""The phone simulator posts through the real signed webhook and shows replies where they went."""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import Direction, Ticket, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(settings):
    settings.DEMO_PHONE_ENABLED = True


def test_hidden_unless_enabled(client, settings):
    settings.DEMO_PHONE_ENABLED = False
    settings.DEBUG = False
    assert client.get("/demo/phone/").status_code == 404
    assert client.post("/demo/phone/send/", {"number": "+14155550100", "body": "hi"}).status_code == 404
    # The thread view showed any customer's whole SMS thread to anyone who knew the number.
    assert client.get("/demo/phone/thread/", {"number": "+14155550100"}).status_code == 404


def test_page_renders(client):
    response = client.get("/demo/phone/?number=%2B14155550100")
    assert response.status_code == 200
    assert b'id="phone-thread"' in response.content


def test_send_goes_through_the_signed_webhook(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/demo/phone/send/", {"number": "+1 415 555 0100", "body": "سلام <b>help</b>"})
    assert response.status_code == 200
    event = TimelineEvent.objects.get(direction=Direction.IN)
    assert event.provider == "twilio" and event.provider_id.startswith("SM")
    assert event.contact_point.value == "+14155550100"
    assert "سلام &lt;b&gt;help&lt;/b&gt;" in response.content.decode()


def test_wrong_auth_token_is_refused_like_any_forged_request(client, settings, monkeypatch):
    # The simulator signs with the token it has; the webhook checks against settings at call time.
    from channels_app.sms import demo

    monkeypatch.setattr(
        demo,
        "RequestValidator",
        lambda token: type("V", (), {"compute_signature": staticmethod(lambda url, params: "forged")})(),
    )
    response = client.post("/demo/phone/send/", {"number": "+14155550100", "body": "hi"})
    assert "HTTP 403" in response.content.decode()
    assert not TimelineEvent.objects.exists()


def test_invalid_number_and_empty_message_say_why(client):
    assert (
        "international format"
        in client.post("/demo/phone/send/", {"number": "12", "body": "x"}).content.decode()
    )
    assert "Type a message" in client.post("/demo/phone/send/", {"number": "+14155550100"}).content.decode()


def test_thread_shows_console_replies_for_the_number(client, django_capture_on_commit_callbacks, settings):
    settings.TWILIO_API_BASE = ""
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/demo/phone/send/", {"number": "+14155550100", "body": "hello"})
    with django_capture_on_commit_callbacks(execute=True):
        send_reply(ticket=Ticket.objects.get(), author=UserFactory(), body="We are here.")
    html = client.get("/demo/phone/thread/?number=%2B14155550100").content.decode()
    assert html.index("hello") < html.index("We are here.")
    assert "bubble-in" in html and "bubble-out" in html


def test_thread_reads_the_fake_twilio_when_configured(
    client, fake_twilio, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/demo/phone/send/", {"number": "+14155550100", "body": "hello"})
    with django_capture_on_commit_callbacks(execute=True):
        send_reply(ticket=Ticket.objects.get(), author=UserFactory(), body="Reply via the fake.")
    fake_twilio.wait_for(to="+14155550100")
    html = client.get("/demo/phone/thread/?number=%2B14155550100").content.decode()
    assert "Reply via the fake." in html
