"""Websocket consumer: agents' browsers subscribe to the queue and to tickets they have open."""

from __future__ import annotations

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from helpdesk.accounts.guards import is_agent
from helpdesk.tickets.realtime import QUEUE_GROUP, ticket_group


class WorkspaceConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if not is_agent(user):
            await self.close(code=4403)
            return
        self.groups_joined: set[str] = {QUEUE_GROUP}
        await self.channel_layer.group_add(QUEUE_GROUP, self.channel_name)
        await self.accept()

    async def receive_json(self, content, **kwargs) -> None:
        ticket_id = content.get("subscribe_ticket")
        if isinstance(ticket_id, int):
            group = ticket_group(ticket_id)
            self.groups_joined.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", set()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def ticket_changed(self, event) -> None:
        await self.send_json(
            {"type": "ticket.changed", "ticket_id": event["ticket_id"], "event_id": event["event_id"]}
        )
