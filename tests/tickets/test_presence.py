"""Presence on a ticket: agents see who else is viewing or replying, the queue row too; in a chat
the visitor sees "typing" while an agent replies, and agents see the visitor typing."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from channels_app.chat import tokens
from helpdesk import redis_client
from helpdesk.tickets.consumers import WorkspaceConsumer
from tests import asyncrun
from tests.factories import TicketFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)  # the scenario may run in a thread of its own


@pytest.fixture(autouse=True)
def _no_presence_left():
    client = redis_client.get()
    for key in client.scan_iter("tourniquet:presence:*"):
        client.delete(key)


async def _agent(user, ticket_id: int | None = None) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(WorkspaceConsumer.as_asgi(), "/ws/workspace/")
    socket.scope["user"] = user
    assert (await socket.connect())[0]
    if ticket_id is not None:
        await socket.send_json_to({"subscribe_ticket": ticket_id})
    return socket


async def _next(socket, kind: str, until=lambda message: True) -> dict:
    """The next message of this kind that satisfies `until` (a socket joining a ticket while a
    notice is under way may also hear an earlier state once)."""
    while True:
        message = await socket.receive_json_from(timeout=5)
        if message.get("type") == kind and until(message):
            return message


def _states(message: dict) -> list[tuple[str, str]]:
    return [(a["name"], a["state"]) for a in message["agents"]]


def test_two_agents_see_each_other_viewing_then_replying_and_the_queue_row_too(agent):
    ticket = TicketFactory()
    dara = UserFactory(username="dara", first_name="Dara", last_name="Sok")
    watcher = UserFactory(username="queue-watcher")

    async def scenario():
        queue = await _agent(watcher)
        mine = await _agent(agent, ticket.pk)
        theirs = await _agent(dara, ticket.pk)
        await theirs.send_json_to({"presence": "viewing", "ticket_id": ticket.pk})
        seen = await _next(mine, "presence")
        assert seen["ticket_id"] == ticket.pk
        assert [(a["name"], a["state"]) for a in seen["agents"]] == [("Dara Sok", "viewing")]
        await theirs.send_json_to({"presence": "replying", "ticket_id": ticket.pk})
        seen = await _next(mine, "presence", until=lambda m: _states(m) != [("Dara Sok", "viewing")])
        assert _states(seen) == [("Dara Sok", "replying")]
        row = await _next(queue, "presence")  # the queue page hears it for the row
        assert row["ticket_id"] == ticket.pk
        await theirs.disconnect()  # a closed tab: gone from the ticket
        gone = await _next(mine, "presence", until=lambda m: _states(m) != [("Dara Sok", "replying")])
        assert gone["agents"] == []
        await mine.disconnect()
        await queue.disconnect()

    asyncrun.run(scenario)


def test_presence_only_for_a_ticket_the_socket_follows(agent):
    ticket = TicketFactory()

    async def scenario():
        socket = await _agent(agent)  # never subscribed to the ticket
        await socket.send_json_to({"presence": "replying", "ticket_id": ticket.pk})
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_json_to({"presence": "<script>", "ticket_id": ticket.pk})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    asyncrun.run(scenario)
    assert redis_client.get().hgetall(f"tourniquet:presence:ticket:{ticket.pk}") == {}


def test_a_chat_visitor_sees_typing_while_an_agent_replies_and_agents_see_the_visitor_type(agent):
    from channels_app.chat.models import ChatWidget
    from helpdesk.customers.services import resolve_customer
    from helpdesk.routing import websocket_application

    widget = ChatWidget.objects.create(name="Shop", allowed_origins="https://shop.example.org")
    visitor = tokens.new_visitor(widget.key)
    customer = resolve_customer(kind="chat", value=visitor.visitor_id, proven=True).customer
    ticket = TicketFactory(customer=customer, channel="chat", status="open")

    async def scenario():
        chat = WebsocketCommunicator(
            websocket_application(), f"/ws/chat/?widget={widget.key}",
            headers=[(b"origin", b"https://shop.example.org")],
        )  # fmt: skip
        assert (await chat.connect())[0]
        await chat.send_json_to({"type": "hello", "token": tokens.issue(visitor)})
        assert (await chat.receive_json_from(timeout=5))["type"] == "ready"
        desk = await _agent(agent, ticket.pk)
        await desk.send_json_to({"presence": "replying", "ticket_id": ticket.pk})
        typing = await _next(chat, "typing")
        assert typing == {"type": "typing", "from": "agent", "active": True}  # no agent's name
        await desk.send_json_to({"presence": "viewing", "ticket_id": ticket.pk})
        assert (await _next(chat, "typing"))["active"] is False
        await chat.send_json_to({"type": "typing"})
        assert (await _next(desk, "visitor.typing"))["ticket_id"] == ticket.pk
        await chat.disconnect()
        await desk.disconnect()

    asyncrun.run(scenario)
