"""Twilio SMS gateway: the official SDK, pointed at TWILIO_API_BASE when set (the local fake).

Provider words (MessageSid, TwilioRestException) stay here; the core sees SendResult and
ChannelError. Error codes that say something about the recipient carry `contact_state`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from channels_app.base import ChannelError, OutboundMessage, SendingAccount, SendResult, SentMessage
from channels_app.sms.errors import delivery_status, describe

logger = logging.getLogger(__name__)

TWILIO_HOST = "https://api.twilio.com"
# Messages a broadcast worker keeps in flight at once with the async client.
MAX_IN_FLIGHT = 64


def _rewrite(url: str) -> str:
    base = settings.TWILIO_API_BASE
    if base and url.startswith(TWILIO_HOST):
        return base.rstrip("/") + url[len(TWILIO_HOST) :]
    return url


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to TWILIO_API_BASE instead of api.twilio.com when set."""

    def request(self, method, url, *args, **kwargs):
        return super().request(method, _rewrite(url), *args, **kwargs)


class RedirectingAsyncHttpClient(AsyncTwilioHttpClient):
    async def request(self, method, url, *args, **kwargs):
        return await super().request(method, _rewrite(url), *args, **kwargs)


def make_client(*, asynchronous: bool = False) -> Client:
    """Build a Twilio client from settings read now (not at import)."""
    http_client: Any = (
        RedirectingAsyncHttpClient(timeout=15) if asynchronous else RedirectingHttpClient(timeout=15)
    )
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


def status_callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/sms/status/"


def _create_kwargs(message: OutboundMessage) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "to": message.to,
        "body": message.body,
        "status_callback": status_callback_url(),
    }
    if settings.TWILIO_MESSAGING_SERVICE_SID:
        kwargs["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
    else:
        kwargs["from_"] = settings.TWILIO_FROM
    if message.media:
        kwargs["media_url"] = list(message.media)
    return kwargs


def to_channel_error(exc: Exception) -> ChannelError:
    """Translate an SDK exception into the core's ChannelError (codes from the one error table)."""
    if isinstance(exc, TwilioRestException):
        code = int(exc.code or 0)
        known = describe(code)
        if known is not None:
            return ChannelError(
                known.message, permanent=known.permanent, code=str(code), contact_state=known.contact_state
            )
        if exc.status == 429 or exc.status >= 500:
            return ChannelError(
                f"Twilio answered {exc.status}; retrying.", permanent=False, code=str(code or exc.status)
            )
        return ChannelError(
            exc.msg or "Twilio refused the message.", permanent=True, code=str(code or exc.status)
        )
    # Connection errors, timeouts: transient.
    return ChannelError(f"Could not reach Twilio: {exc.__class__.__name__}", permanent=False)


class TwilioGateway:
    provider = "twilio"

    def sending_account(self) -> SendingAccount:
        """One rate for everything sent from this account and sender: replies, triage, broadcasts."""
        sender = settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM
        return SendingAccount(
            key=f"twilio:{settings.TWILIO_ACCOUNT_SID}:{sender}",
            rate_per_second=settings.TWILIO_MESSAGES_PER_SECOND,
        )

    def send(self, message: OutboundMessage) -> SendResult:
        try:
            sent = make_client().messages.create(**_create_kwargs(message))
        except (TwilioException, OSError) as exc:
            raise to_channel_error(exc) from exc
        except Exception as exc:  # noqa: BLE001 - requests' errors reach us unwrapped
            raise to_channel_error(exc) from exc
        return SendResult(provider=self.provider, provider_id=sent.sid, status=delivery_status(sent.status))

    def send_many(self, messages: list[OutboundMessage]) -> list[SendResult | ChannelError]:
        """Send a batch concurrently with the SDK's async client, at most MAX_IN_FLIGHT at once."""
        if not messages:
            return []
        return asyncio.run(self._send_many(messages))

    async def _send_many(self, messages: list[OutboundMessage]) -> list[SendResult | ChannelError]:
        client = make_client(asynchronous=True)
        limit = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(message: OutboundMessage) -> SendResult | ChannelError:
            async with limit:
                try:
                    sent = await client.messages.create_async(**_create_kwargs(message))
                except Exception as exc:  # noqa: BLE001 - every failure becomes a per-message result
                    return to_channel_error(exc)
                return SendResult(
                    provider=self.provider, provider_id=sent.sid, status=delivery_status(sent.status)
                )

        try:
            return list(await asyncio.gather(*(one(m) for m in messages)))
        finally:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                await session.close()

    def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages Twilio holds for `to` from our sender created since `since` (for the reconciler)."""
        kwargs: dict[str, Any] = {"to": to, "date_sent_after": since}
        if not settings.TWILIO_MESSAGING_SERVICE_SID:
            kwargs["from_"] = settings.TWILIO_FROM
        try:
            found = make_client().messages.list(limit=20, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise to_channel_error(exc) from exc
        return [
            SentMessage(
                provider_id=m.sid,
                to=to,
                body=m.body or "",
                status=delivery_status(m.status),
                created_at=m.date_created,
            )
            for m in found
        ]
