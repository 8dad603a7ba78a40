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
        from channels_app.chat.selectors import buttons_for_event

        provider_id = f"out:{message.outbox_id}"
        event_id = message.metadata.get("event_id")
        live.push(
            message.to,
            {
                "type": "chat.message",
                "id": event_id,
                "provider_id": provider_id,
                "from": "agent",
                "text": message.body,
                "choices": buttons_for_event(event_id),  # a triage question's answers
            },
        )
        return SendResult(provider=PROVIDER, provider_id=provider_id)
