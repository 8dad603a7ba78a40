"""The visitor's websocket: allowed sites only, a hello with the token first, each message acked
once stored, the desk's replies pushed live."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from channels_app.chat import tokens
from helpdesk.routing import websocket_application
from helpdesk.tickets.models import Ticket, TimelineEvent
from tests import asyncrun
from tests.channels_app.chat.conftest import SITE

pytestmark = pytest.mark.django_db(transaction=True)  # the scenario runs in a thread of its own


def _socket(widget, origin: str = SITE) -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode())] if origin else []
    return WebsocketCommunicator(websocket_application(), f"/ws/chat/?widget={widget.key}", headers=headers)


def test_a_visitor_chats_over_the_socket_and_gets_the_reply_live(widget, agent):
    from helpdesk.messaging import inbox
    from helpdesk.tickets.services import send_reply

    token = tokens.issue(tokens.new_visitor(widget.key))

    async def scenario():
        socket = _socket(widget)
        connected, _ = await socket.connect()
        assert connected
        await socket.send_json_to({"type": "hello", "token": token})
        assert await socket.receive_json_from(timeout=5) == {"type": "ready"}
        for _ in range(2):  # the second is a resend after a reconnect: the same message
            await socket.send_json_to({"type": "message", "client_id": "a1", "text": "سلام، پروازم لغو شد"})
            assert await socket.receive_json_from(timeout=5) == {"type": "ack", "client_id": "a1"}
        await sync_to_async(inbox.drain)()
        ticket = await sync_to_async(Ticket.objects.get)()
        reply = await sync_to_async(send_reply)(
            ticket=ticket, author=agent, body="<b>Rebooked</b> on LH 1173"
        )
        pushed = await socket.receive_json_from(timeout=5)
        assert pushed["type"] == "message" and pushed["from"] == "agent"
        assert pushed["text"] == "<b>Rebooked</b> on LH 1173" and pushed["id"] == reply.pk
        await socket.send_json_to({"type": "delivered", "ids": [reply.pk]})
        assert await socket.receive_json_from(timeout=5) == {"type": "delivered", "ids": [reply.pk]}
        await socket.disconnect()

    asyncrun.run(scenario)
    assert TimelineEvent.objects.filter(channel="chat", direction="in").count() == 1
    assert TimelineEvent.objects.get(channel="chat", direction="out").delivery_status == "delivered"


@pytest.mark.parametrize("origin", ["https://evil.example", ""])
def test_a_socket_from_another_site_is_refused(widget, origin):
    async def scenario():
        connected, code = await _socket(widget, origin).connect()
        assert not connected and code == 4403

    asyncrun.run(scenario)


def test_a_socket_without_a_valid_hello_is_closed(widget):
    from channels_app.chat.models import ChatWidget

    other = ChatWidget.objects.create(name="Other", allowed_origins=SITE)
    foreign = tokens.issue(tokens.new_visitor(other.key))

    async def scenario():
        for hello in (
            {"type": "message", "text": "hi", "client_id": "x"},
            {"type": "hello", "token": foreign},
        ):
            socket = _socket(widget)
            assert (await socket.connect())[0]
            await socket.send_json_to(hello)
            assert (await socket.receive_output(timeout=5))["type"] == "websocket.close"

    asyncrun.run(scenario)


def test_the_workspace_socket_still_refuses_other_sites(agent):
    async def scenario():
        socket = WebsocketCommunicator(
            websocket_application(), "/ws/workspace/", headers=[(b"origin", b"https://evil.example")]
        )
        connected, _ = await socket.connect()
        assert not connected

    asyncrun.run(scenario)


def test_agents_on_the_ticket_see_a_stored_line_before_the_drain_records_it(widget, agent, settings):
    """visitor.message: sent once the inbox stored the line (nothing shown that could be lost),
    to the ticket's followers only; the recorded event carries the same arrival key."""
    from helpdesk.messaging import inbox
    from helpdesk.tickets.consumers import WorkspaceConsumer

    visitor = tokens.new_visitor(widget.key)
    settings.CELERY_TASK_ALWAYS_EAGER = False

    async def scenario():
        from helpdesk.messaging import tasks

        tasks.drain_inbox.app.conf.task_always_eager = False  # the drain runs when the test says
        socket = _socket(widget)
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "hello", "token": tokens.issue(visitor)})
        await socket.receive_json_from(timeout=5)
        await socket.send_json_to({"type": "message", "client_id": "a1", "text": "Hello"})
        await socket.receive_json_from(timeout=5)
        await sync_to_async(inbox.drain)()
        ticket = await sync_to_async(Ticket.objects.get)()
        desk = WebsocketCommunicator(WorkspaceConsumer.as_asgi(), "/ws/workspace/")
        desk.scope["user"] = agent
        assert (await desk.connect())[0]
        await desk.send_json_to({"subscribe_ticket": ticket.pk})
        await desk.receive_nothing(timeout=0.3)
        await socket.send_json_to(
            {"type": "message", "client_id": "a2", "text": "<img src=x onerror=alert(1)>"}
        )
        assert await socket.receive_json_from(timeout=5) == {"type": "ack", "client_id": "a2"}
        seen = await desk.receive_json_from(timeout=5)
        assert seen["type"] == "visitor.message" and seen["ticket_id"] == ticket.pk
        assert (
            seen["text"] == "<img src=x onerror=alert(1)>" and seen["arrival"] == f"{visitor.visitor_id}:a2"
        )
        assert not await sync_to_async(TimelineEvent.objects.filter(provider_id=seen["arrival"]).exists)()
        await sync_to_async(inbox.drain)()
        assert (await desk.receive_json_from(timeout=5))["type"] == "ticket.changed"
        await desk.disconnect()
        await socket.disconnect()

    asyncrun.run(scenario)
    assert TimelineEvent.objects.filter(provider_id=f"{visitor.visitor_id}:a2").count() == 1
