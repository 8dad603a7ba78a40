"""The widget's HTTP side: only allowed websites, a token per conversation, each message stored
once and shown as text, replies delivered once the widget showed them."""

from __future__ import annotations

import pytest

from channels_app.chat import tokens
from helpdesk.messaging.models import InboxMessage
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests.channels_app.chat.conftest import SITE, WidgetClient

pytestmark = pytest.mark.django_db


def test_the_embed_script_is_served_small_and_cacheable(client):
    import gzip

    response = client.get("/embed/chat.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/javascript")
    assert len(gzip.compress(response.content)) <= 15 * 1024
    assert b"innerHTML" not in response.content  # text only, never parsed as HTML
    assert client.get("/embed/chat.css").status_code == 200


def test_a_session_from_an_allowed_site_gets_a_token_and_the_widgets_look(visitor, widget):
    response = visitor.start()
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE and "Origin" in response["Vary"]
    data = response.json()
    assert tokens.read(data["token"]).widget_key == widget.key
    assert data["widget"]["greeting"]["en"] == "Hi! How can we help?"
    assert data["widget"]["greeting"]["fa"] == "Hi! How can we help?"  # English where none is written
    assert data["online"] is False and data["history"] == []
    assert data["socket"].startswith("ws://") and data["socket"].endswith(f"/ws/chat/?widget={widget.key}")
    assert "banners" in data["crisis"] and "directory" in data["crisis"]


@pytest.mark.parametrize("origin", ["https://evil.example", "", "https://shop.example.org.evil.example"])
def test_other_sites_are_refused(client, widget, origin):
    other = WidgetClient(client, widget, origin=origin)
    response = other.start()
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response
    preflight = client.options(f"/chat/api/{widget.key}/session/", HTTP_ORIGIN=origin)
    assert preflight.status_code == 403


def test_a_message_is_stored_once_and_threads_into_the_visitors_ticket(
    visitor, django_capture_on_commit_callbacks
):
    visitor.start()
    with django_capture_on_commit_callbacks(execute=True):
        assert visitor.send("My flight was cancelled").status_code == 202
        assert visitor.send("My flight was cancelled").status_code == 202  # a resend: same client id
        assert visitor.send("I am in Lisbon", client_id="m2").status_code == 202
    assert InboxMessage.objects.filter(channel="chat").count() == 2
    events = TimelineEvent.objects.filter(channel="chat", direction="in").order_by("pk")
    assert [e.body for e in events] == ["My flight was cancelled", "I am in Lisbon"]
    ticket = Ticket.objects.get()
    assert ticket.channel == "chat" and ticket.customer.name == "Leyla"
    point = events[0].contact_point
    assert point.kind == "chat" and point.verified  # the signed token proved it
    history = visitor.messages().json()["messages"]
    assert [(m["from"], m["text"], m["client_id"]) for m in history] == [
        ("visitor", "My flight was cancelled", "m1"),
        ("visitor", "I am in Lisbon", "m2"),
    ]


def test_html_and_script_stay_text(visitor, django_capture_on_commit_callbacks):
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script> <b>bold</b>'
    visitor.start()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.send(payload)
    event = TimelineEvent.objects.get(channel="chat")
    assert event.body == payload and event.body_html == ""  # kept as typed, never as markup
    assert visitor.messages().json()["messages"][0]["text"] == payload


def test_a_token_reads_only_its_own_conversation(client, widget, django_capture_on_commit_callbacks):
    from channels_app.chat.models import ChatWidget

    first, second = WidgetClient(client, widget), WidgetClient(client, widget)
    first.start()
    second.start()
    with django_capture_on_commit_callbacks(execute=True):
        first.send("private to me")
    assert second.messages().json()["messages"] == []
    other = ChatWidget.objects.create(name="Other", allowed_origins=SITE)
    stolen = WidgetClient(client, other)
    stolen.token = first.token  # a token of another widget
    assert stolen.messages().status_code == 403
    forged = WidgetClient(client, widget)
    forged.token = first.token[:-2] + "xx"
    assert forged.messages().status_code == 403


@pytest.mark.parametrize(
    ("text", "code"), [("", "empty"), ("   ", "empty"), ("x" * 4001, "too_long"), (["a"], "invalid")]
)
def test_bad_messages_get_a_clear_400(visitor, text, code):
    visitor.start()
    response = visitor.send(text)
    assert response.status_code == 400 and response.json()["error"] == code
    assert not InboxMessage.objects.exists()


def test_a_visitor_over_the_rate_limit_gets_429(visitor, settings):
    settings.CHAT_MESSAGES_PER_MINUTE = 3
    visitor.start()
    answers = [visitor.send(f"m{i}", client_id=f"c{i}").status_code for i in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    assert visitor.send("again", client_id="c9").json()["retry_after"] > 0


def test_malformed_bodies_are_400_not_500(visitor, client, widget):
    visitor.start()
    response = client.post(
        f"/chat/api/{widget.key}/messages/", b"{not json", content_type="application/json",
        HTTP_ORIGIN=SITE, HTTP_X_CHAT_TOKEN=visitor.token,
    )  # fmt: skip
    assert response.status_code == 400


def test_an_agent_reply_reaches_the_history_and_is_delivered_once_shown(
    visitor, agent, django_capture_on_commit_callbacks
):
    from helpdesk.tickets.services import send_reply

    visitor.start()
    with django_capture_on_commit_callbacks(execute=True):
        visitor.send("Hello?")
    ticket = Ticket.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(ticket=ticket, author=agent, body="We are rebooking you <now>")
    reply.refresh_from_db()
    assert reply.channel == "chat" and reply.delivery_status == "sent"  # pushed, not yet shown
    history = visitor.messages(after=0).json()["messages"]
    assert history[-1]["from"] == "agent" and history[-1]["text"] == "We are rebooking you <now>"
    assert visitor.delivered([reply.pk, 10**9]).json()["ids"] == [reply.pk]
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"
