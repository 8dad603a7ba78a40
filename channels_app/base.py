"""The channel interface: what every adapter receives, sends and raises.

Provider words (MessageSid, CallSid, SDK exceptions) stay inside adapters; the core sees these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent us, already verified and parsed by its adapter."""

    channel: str  # sms, email, voice, chat, web
    sender_kind: str  # phone, email, chat
    sender: str  # the customer's address on that channel, raw (normalized by the core)
    body: str = ""
    provider: str = ""
    provider_id: str | None = None  # the provider's id of this message: the idempotency key
    recipient: str = ""  # our address that received it (routes to a queue)
    subject: str = ""
    sender_name: str = ""
    language: str = ""
    kind: str = "message"
    media: list[str] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    ticket_id: int | None = None  # a thread hint the adapter trusts (e.g. email In-Reply-To)
    new_ticket: bool = False  # the adapter asks for a fresh ticket (e.g. a new contact form)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to send: built by the relay from an outbox row."""

    outbox_id: int
    channel: str
    to: str
    body: str
    subject: str = ""
    language: str = "en"
    media: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider: str
    provider_id: str | None
    status: str = "sent"  # a DeliveryStatus value
    detail: dict[str, Any] = field(default_factory=dict)


class ChannelError(Exception):
    """Sending failed. `permanent` errors are not retried; `code` is the provider's error code."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str = "",
        retry_after: float | None = None,
        contact_state: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        # "opted_out" or "invalid" when the provider says so of the recipient (e.g. Twilio 21610/21211).
        self.contact_state = contact_state


class Gateway(Protocol):
    """Sends on one channel. Implementations are registered by dotted path in CHANNEL_GATEWAYS."""

    provider: str

    def send(self, message: OutboundMessage) -> SendResult: ...


def send_many(gateway: Gateway, messages: list[OutboundMessage]) -> list[SendResult | ChannelError]:
    """Send a batch, one result or error per message in order.

    Gateways that can send concurrently (the Twilio gateway's async client) define their own
    `send_many`; every other gateway is driven one message at a time.
    """
    own = getattr(gateway, "send_many", None)
    if own is not None:
        return own(messages)
    results: list[SendResult | ChannelError] = []
    for message in messages:
        try:
            results.append(gateway.send(message))
        except ChannelError as exc:
            results.append(exc)
    return results


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def get_gateway(channel: str) -> Gateway:
    """Return the gateway configured for the channel (settings read at call time)."""
    try:
        path = settings.CHANNEL_GATEWAYS[channel]
    except KeyError as exc:
        raise ChannelError(f"No gateway is configured for channel {channel!r}.", permanent=True) from exc
    return _gateway_class(path)()
