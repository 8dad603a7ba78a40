"""Twilio SMS gateway: the official SDK, pointed at TWILIO_API_BASE when set (the local fake).

Provider words (MessageSid, TwilioRestException) stay here; the core sees SendResult and
ChannelError. Error codes that say something about the recipient carry `contact_state`.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import contextlib
import logging
import os
import ssl
import threading
import time
from collections.abc import Coroutine
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar
from urllib.parse import quote_plus, urlsplit

import certifi
import httptools
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels_app.base import ChannelError, OutboundMessage, SendingAccount, SendResult, SentMessage
from channels_app.sms.errors import delivery_status, describe
from channels_app.twilio_api.http import RedirectingHttpClient, api_url

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Messages a process keeps in flight at once with the async client (and so its connections).
MAX_IN_FLIGHT = 64
REQUEST_TIMEOUT = 15.0
# Idle keep-alive connections are dropped before the server's own timeout (uvicorn's is 5 s),
# so a reused connection is hardly ever one the server is closing.
KEEPALIVE_SECONDS = 4.0
# The reconciler reads one number's recent messages: one page covers a crash's retries.
FIND_PAGE_SIZE = 20


class KeepAliveHttpClient(AsyncHttpClient):
    """The SDK's async HTTP client interface on pooled keep-alive HTTP/1.1 connections.

    Measured per message into the fake on this 2-core machine: the SDK's own work 0.09 ms, its
    aiohttp client 0.38-0.45 ms even with one long-lived session, this client 0.05 ms (httptools
    parses the response; one write per request). Sends to TWILIO_API_BASE when set. Use it on
    one event loop (`_AsyncLoop`); connections are reused until idle for KEEPALIVE_SECONDS."""

    def __init__(self, *, timeout: float = REQUEST_TIMEOUT, max_connections: int = MAX_IN_FLIGHT) -> None:
        super().__init__(logging.getLogger("twilio.http_client"), True, timeout)
        self.max_connections = max_connections
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._auth: dict[tuple[str, str], str] = {}
        self._ssl: ssl.SSLContext | None = None

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        url = api_url(url)
        if self.logger.isEnabledFor(logging.INFO):
            self.log_request({"method": method, "url": url, "params": params, "headers": headers})
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        target = (parts.path or "/") + (f"?{_form_encode(params)}" if params else "")
        body = _form_encode(data).encode() if data else b""
        lines = [f"{method.upper()} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        if auth is not None:
            lines.append(f"Authorization: {self._basic(auth)}")
        if body or method.upper() in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_connections)
        async with self._slots, asyncio.timeout(timeout or self.timeout):
            status, response_headers, text = await self._exchange(parts.scheme, host, port, secure, payload)
        response = Response(status, text, response_headers)
        if self.logger.isEnabledFor(logging.INFO):
            self.log_response(status, response)  # type: ignore[arg-type]
        return response

    async def _exchange(
        self, scheme: str, host: str, port: int, secure: bool, payload: bytes
    ) -> tuple[int, dict[str, str], str]:
        key = (scheme, host, port)
        conn = self._reuse(key)
        if conn is None:
            loop = asyncio.get_running_loop()
            _, conn = await loop.create_connection(
                _Connection, host, port, ssl=self._context() if secure else None
            )
        try:
            status, headers, body, keep_alive = await conn.exchange(payload)
        except BaseException:
            conn.close()  # a timeout or cancel mid-response: the connection's state is unknown
            raise
        if keep_alive:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(key, []).append(conn)
        else:
            conn.close()
        return status, headers, body.decode("utf-8")

    def _reuse(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        oldest = time.monotonic() - KEEPALIVE_SECONDS
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since > oldest:
                return conn
            conn.close()
        return None

    def _basic(self, auth: tuple[str, str]) -> str:
        header = self._auth.get(auth)
        if header is None:
            header = self._auth[auth] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return header

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


# A broadcast repeats its body, sender and callback URL in every request: quoting each once
# saves ~30 µs a message (urlencode quotes every key and value again).
_quote = lru_cache(maxsize=4096)(quote_plus)


def _form_encode(fields: dict[str, object]) -> str:
    """urlencode(fields, doseq=True), with repeated values quoted once."""
    pairs = []
    for name, value in fields.items():
        for item in value if isinstance(value, list | tuple) else (value,):
            text = str(item)
            if text[:1] == "+" and text[1:].isascii() and text[1:].isdigit():
                # A phone number is new in every message: quoting it by hand skips a cache miss.
                pairs.append(f"{_quote(name)}=%2B{text[1:]}")
            else:
                pairs.append(f"{_quote(name)}={_quote(text)}")
    return "&".join(pairs)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, the response parsed by httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, dict[str, str], bytes, bool]] | None = None
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.closed = False
        self.idle_since = 0.0

    async def exchange(self, payload: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """Write one request; return (status, headers, body, keep-alive) of its response."""
        if self.closed or self.transport is None:
            raise ConnectionResetError("connection closed")
        self.headers, self.body = {}, []
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(payload)
        return await self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            status = self.parser.get_status_code()
            waiter.set_result((status, self.headers, b"".join(self.body), self.parser.should_keep_alive()))

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


def make_client(*, asynchronous: bool = False) -> Client:
    """Build a Twilio client from settings read now (not at import).

    An asynchronous client must be built on the event loop that uses it: `send_many` keeps one
    per process on its own loop (`_AsyncLoop`)."""
    http_client: Any = (
        KeepAliveHttpClient(timeout=REQUEST_TIMEOUT)
        if asynchronous
        else RedirectingHttpClient(timeout=REQUEST_TIMEOUT)
    )
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)


class _AsyncLoop:
    """One event loop per process, in a daemon thread, holding the SDK's async clients.

    Building a client, an aiohttp session and fresh connections for every batch of 100 cost
    more CPU than the sends themselves (about 1 ms a message in all, against 0.2 ms for the SDK
    alone); here they live as long as the process. Thread-safe: callers submit coroutines."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = _new_event_loop()
        self.clients: dict[tuple[str, str], Client] = {}  # touched only on the loop's thread
        self.thread = threading.Thread(target=self.loop.run_forever, name="twilio-async", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def client(self) -> Client:
        """The client for the account in settings now (call on the loop)."""
        key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = make_client(asynchronous=True)
        return client

    async def _close(self) -> None:
        for client in self.clients.values():
            await client.http_client.close()  # type: ignore[attr-defined]
        self.clients.clear()

    def close(self) -> None:
        """Close the sessions and stop the loop (at exit: no 'unclosed session' warnings)."""
        if self.pid != os.getpid() or not self.loop.is_running():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._close(), self.loop).result(timeout=2)
        self.loop.call_soon_threadsafe(self.loop.stop)


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


_loop: _AsyncLoop | None = None
_loop_lock = threading.Lock()


def _async_loop() -> _AsyncLoop:
    """This process's loop; a forked child (a Celery pool process) starts its own."""
    global _loop
    loop = _loop
    if loop is None or loop.pid != os.getpid():
        with _loop_lock:
            loop = _loop
            if loop is None or loop.pid != os.getpid():
                loop = _loop = _AsyncLoop()
                atexit.register(loop.close)
    return loop


def _forget_loop_after_fork() -> None:
    global _loop, _loop_lock
    _loop = None
    _loop_lock = threading.Lock()  # a thread of the parent may have held it at fork time


os.register_at_fork(after_in_child=_forget_loop_after_fork)


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
        return _async_loop().run(self._send_many(messages))

    async def _send_many(self, messages: list[OutboundMessage]) -> list[SendResult | ChannelError]:
        client = _async_loop().client()  # its HTTP client keeps at most MAX_IN_FLIGHT requests out
        provider = self.provider
        common = _create_kwargs(messages[0])  # settings read once a batch, not once a message
        del common["to"], common["body"]
        common.pop("media_url", None)

        async def one(message: OutboundMessage) -> SendResult | ChannelError:
            kwargs = {**common, "to": message.to, "body": message.body}
            if message.media:
                kwargs["media_url"] = list(message.media)
            try:
                sent = await client.messages.create_async(**kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a per-message result
                return to_channel_error(exc)
            return SendResult(provider=provider, provider_id=sent.sid, status=delivery_status(sent.status))

        return list(await asyncio.gather(*(one(m) for m in messages)))

    def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        """Messages from our sender to `to` created since `since`, newest first, queued ones too.

        Twilio leaves DateSent empty while a message waits in the account's queue, so a DateSent
        filter would miss exactly the messages a crashed worker handed over last; this lists by
        To (and From) and compares DateCreated instead."""
        try:
            return _async_loop().run(self._find_sent(to=to, since=since))
        except Exception as exc:  # noqa: BLE001 - every failure is a ChannelError to the core
            raise to_channel_error(exc) from exc

    async def _find_sent(self, *, to: str, since: datetime) -> list[SentMessage]:
        client = _async_loop().client()
        service = settings.TWILIO_MESSAGING_SERVICE_SID
        kwargs: dict[str, Any] = {"to": to, "page_size": FIND_PAGE_SIZE}
        if not service:
            kwargs["from_"] = settings.TWILIO_FROM
        found: list[SentMessage] = []
        async for m in await client.messages.stream_async(**kwargs):
            if m.date_created is not None and m.date_created < since:
                break  # newest first: everything after this is older
            if service and m.messaging_service_sid != service:
                continue
            found.append(
                SentMessage(
                    provider_id=m.sid,
                    to=to,
                    body=m.body or "",
                    status=delivery_status(m.status),
                    created_at=m.date_created,
                )
            )
        return found
