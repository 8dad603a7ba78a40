"""Websocket consumer: agents' browsers subscribe to the queue and to tickets they have open."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.accounts.guards import is_agent
from helpdesk.tickets import presence
from helpdesk.tickets.realtime import QUEUE_GROUP, session_group, ticket_group, user_group

# Tickets one socket may follow: a browser has a few tabs open, a script asking for thousands
# would only load the channel layer.
MAX_SUBSCRIPTIONS = 50
CLOSED_REVOKED = 4401  # the credentials that opened the socket are gone (signed out, password changed)


class WorkspaceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if not is_agent(user):
            await self.close(code=4403)
            return
        self.groups_joined: set[str] = {QUEUE_GROUP, user_group(user.pk)}
        self.present_on: set[int] = set()
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self.groups_joined.add(session_group(session.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        if "presence" in content:
            await self._presence(content.get("ticket_id"), content.get("presence"))
            return
        ticket_id = content.get("subscribe_ticket")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            return
        group = ticket_group(ticket_id)
        if group in self.groups_joined:
            return
        tickets = sum(1 for g in self.groups_joined if g.startswith("ticket-"))
        if tickets >= MAX_SUBSCRIPTIONS:
            await self.send_json({"type": "error", "error": "too_many_subscriptions"})
            return
        if not await _may_see(self.scope["user"], ticket_id):
            # Another team's ticket and a missing one answer alike.
            await self.send_json({"type": "error", "error": "not_found", "ticket_id": ticket_id})
            return
        self.groups_joined.add(group)
        await self.channel_layer.group_add(group, self.channel_name)

    async def _presence(self, ticket_id, state) -> None:
        """The agent's ticket page says what it does there; only on a ticket this socket follows."""
        if not isinstance(ticket_id, int) or ticket_group(ticket_id) not in self.groups_joined:
            return
        if state not in presence.STATES and state != "left":
            return
        user = self.scope["user"]
        name = user.get_full_name() or user.get_username()
        agents = await database_sync_to_async(presence.set_state)(
            ticket_id=ticket_id, user_id=user.pk, name=name, state=state
        )
        self.present_on.add(ticket_id)
        await self._announce(ticket_id, agents)

    async def _announce(self, ticket_id: int, agents: list[dict]) -> None:
        # To the ticket's followers (and a chat visitor's widget there), and to every queue page.
        message = presence.notice(ticket_id, agents)
        await self.channel_layer.group_send(ticket_group(ticket_id), message)
        await self.channel_layer.group_send(QUEUE_GROUP, {**message, "type": "queue.presence"})

    async def presence(self, event) -> None:
        await self.send_json({"type": "presence", "ticket_id": event["ticket_id"], "agents": event["agents"]})

    async def queue_presence(self, event) -> None:
        if ticket_group(event["ticket_id"]) not in self.groups_joined:  # else it came by the ticket
            await self.presence(event)

    async def visitor_typing(self, event) -> None:
        await self.send_json({"type": "visitor.typing", "ticket_id": event["ticket_id"]})

    async def visitor_message(self, event) -> None:
        """A chat line stored in the inbox, shown on the ticket page before the drain records it."""
        await self.send_json(
            {"type": "visitor.message", **{k: event[k] for k in ("ticket_id", "arrival", "text", "at")}}
        )

    async def sockets_close(self, event) -> None:
        await self.close(code=CLOSED_REVOKED)

    async def disconnect(self, code) -> None:
        user = self.scope.get("user")
        for ticket_id in getattr(self, "present_on", set()):
            agents = await database_sync_to_async(presence.set_state)(
                ticket_id=ticket_id, user_id=user.pk, name="", state="left"
            )
            await self._announce(ticket_id, agents)
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def ticket_changed(self, event) -> None:
        await self.send_json(
            {"type": "ticket.changed", "ticket_id": event["ticket_id"], "event_id": event["event_id"]}
        )

    async def queue_changed(self, event) -> None:
        await self.send_json({"type": "queue.changed", "ticket_ids": event["ticket_ids"]})


@database_sync_to_async
def _may_see(user, ticket_id: int) -> bool:
    from helpdesk.tickets.selectors import visible_tickets

    return visible_tickets(user).filter(pk=ticket_id).exists()
