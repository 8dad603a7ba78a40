"""Agent replies out: the outbox hands a chat reply to this gateway, which pushes it to the
visitor's sockets. Sent means the desk holds it for the widget (it is in the conversation's
history for a widget that was away); delivered only once a widget says it showed it."""

from __future__ import annotations

from channels_app.base import OutboundMessage, SendResult
from channels_app.chat import live

PROVIDER = "chat"


class ChatGateway:
    provider = PROVIDER

    def send(self, message: OutboundMessage) -> SendResult:
        provider_id = f"out:{message.outbox_id}"
        live.push(
            message.to,
            {
                "type": "chat.message",
                "id": message.metadata.get("event_id"),
                "provider_id": provider_id,
                "from": "agent",
                "text": message.body,
            },
        )
        return SendResult(provider=PROVIDER, provider_id=provider_id)
