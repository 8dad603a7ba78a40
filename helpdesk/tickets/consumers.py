"""Websocket consumer: agents' browsers subscribe to the queue and to tickets they have open."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.accounts.guards import is_agent
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
        session = self.scope.get("session")
        if session is not None and session.session_key:
            self.groups_joined.add(session_group(session.session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
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

    async def sockets_close(self, event) -> None:
        await self.close(code=CLOSED_REVOKED)

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def ticket_changed(self, event) -> None:
        await self.send_json(
            {"type": "ticket.changed", "ticket_id": event["ticket_id"], "event_id": event["event_id"]}
        )


@database_sync_to_async
def _may_see(user, ticket_id: int) -> bool:
    from helpdesk.tickets.selectors import visible_tickets

    return visible_tickets(user).filter(pk=ticket_id).exists()
