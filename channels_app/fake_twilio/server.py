"""A local HTTP server that speaks the parts of Twilio's REST API Tourniquet uses.

Tests, the demo and the benchmarks point the real `twilio` SDK at it (TWILIO_API_BASE). It
records every message, answers with Twilio-shaped JSON and errors, sends signed status
callbacks (queued → sent → delivered) like Twilio does, and can inject latency, 429s, 5xx
and undelivered outcomes. Like Twilio, a message waits in the account's queue first: it is
`queued` with DateSent empty until it is sent (`queue_seconds` later), and the list endpoint's
DateSent filters never return a message that is still queued. A broadcast bench pushes
thousands of requests a second through it, so it serves HTTP/1.1 itself (`serve`: keep-alive
connections parsed by httptools, each answer one write) instead of through an ASGI server.

Control endpoints (not Twilio's): GET /_fake/messages[?to=], POST /_fake/reset,
POST /_fake/config (JSON: latency_ms, rate_429, rate_5xx, undelivered, callback_delay,
callbacks, queue_seconds; a reset restores the defaults), GET /_fake/stats (counters, the
number of client connections seen, the time of the last create), POST /_fake/media (JSON:
content_type, body_b64, redirect) stores an MMS file and answers its Twilio media path, which
answers (with the account's credentials) a redirect to GET /_fake/cdn/<media sid>, or to
`redirect`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import logging
import random
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, unquote_plus

import httptools
import httpx
from twilio.request_validator import RequestValidator

from channels_app.fake_twilio.voice import Voice

# Numbers that fail the way Twilio's documented error codes do.
INVALID_NUMBERS = {"+15005550001"}  # 21211: not a valid phone number
OPTED_OUT_NUMBERS = {"+15005550009"}  # 21610: the recipient replied STOP
UNDELIVERABLE_NUMBERS = {"+15005550004"}  # accepted, then undelivered (30003)

logger = logging.getLogger(__name__)

MEDIA_RE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages/(?P<msid>MM\w+)/Media/(?P<me>ME\w+)$")
CALLS_RE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Calls(?:/(?P<csid>CA\w+))?\.json$")
RECORDING_RE = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Recordings/(?P<re>RE\w+?)(?:\.(?:mp3|wav))?$"
)
FAKE_CALL_RE = re.compile(r"^/_fake/calls/(?P<csid>CA\w+?)(?P<input>/input)?$")
MESSAGES_RE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages(?:/(?P<msid>(SM|MM)\w+))?\.json$")
E164_RE = re.compile(r"\+[1-9]\d{6,14}")


@dataclass(frozen=True)
class Raw:
    """An answer that is not JSON: a media file, or a redirect to one."""

    content_type: str = ""
    body: bytes = b""
    location: str = ""


@dataclass
class Request:
    """One parsed HTTP request: what `FakeTwilio.answer` needs of it."""

    method: str
    path: str
    query_string: bytes
    headers: dict[bytes, bytes]  # names lower-cased
    body: bytes
    client: Any = None  # (host, port) of the connection


def twilio_error(code: int, message: str, status: int) -> tuple[int, dict[str, Any]]:
    return status, {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class FakeTwilio:
    def __init__(self, *, account_sid: str, auth_token: str, callback_delay: float = 0.2) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.defaults: dict[str, Any] = {
            "latency_ms": 0,
            "rate_429": 0.0,
            "rate_5xx": 0.0,
            "undelivered": 0.0,
            "callback_delay": callback_delay,
            "callbacks": True,
            # Seconds a message waits in the account's queue (status queued, DateSent empty).
            "queue_seconds": 0.0,
        }
        self.config: dict[str, Any] = dict(self.defaults)
        self.messages: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}  # MMS files by media sid (POST /_fake/media)
        self.order: list[str] = []
        self.by_to: dict[str, list[str]] = {}  # the list endpoint filters by To without a scan
        self.stats: Counter[str] = Counter()
        self.callback_client: httpx.AsyncClient | None = None  # made on the serving loop (`serve`)
        # Message sids: 32 hex digits, random per process, then a counter (one os.urandom call
        # per create was ~3 % of the fake's CPU in the broadcast bench).
        self._sid_prefix = secrets.token_hex(8)
        self._sid_counter = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self.last_created = 0.0
        self.peers: set[Any] = set()
        self._good_auth = b"Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode())
        self.base_url = "http://127.0.0.1"  # where the fake serves (recording URLs); set by `serve`
        self.voice = Voice(self)

    def delays(self, request: Request) -> bool:
        """True when the request waits for the configured latency before its answer."""
        return bool(self.config["latency_ms"]) and not request.path.startswith("/_fake/")

    def answer(self, request: Request) -> tuple[int, Any]:
        """Answer one request now: (HTTP status, JSON-able payload)."""
        path, method = request.path, request.method
        query = dict(parse_qsl(request.query_string.decode())) if request.query_string else {}
        if path.startswith("/_fake/"):
            return self.control(path, method, query, request.body)
        media = MEDIA_RE.match(path)
        if media and method == "GET":
            # Like Twilio with HTTP auth enforced on media: credentials, then a redirect to the CDN.
            stored = self.media.get(media["me"])
            if stored is None:
                return twilio_error(20404, "The requested resource was not found", 404)
            if not self._authorized(request, media["sid"]):
                return twilio_error(20003, "Authenticate", 401)
            self.stats["media"] += 1
            return 307, Raw(location=stored["redirect"] or f"/_fake/cdn/{media['me']}")
        if path.startswith("/2010-04-01/Accounts/") and ("/Calls" in path or "/Recordings/" in path):
            return self.answer_voice(request, path, method)
        match = MESSAGES_RE.match(path)
        if not match:
            return twilio_error(20404, "The requested resource was not found", 404)
        if not self._authorized(request, match["sid"]):
            return twilio_error(20003, "Authenticate", 401)
        self.stats["requests"] += 1
        self.peers.add(request.client)  # one (host, port) per connection: counts reuse
        if method == "POST" and not match["msid"]:
            return self.create(_form(request.body))
        if method == "GET" and match["msid"]:
            msg = self.messages.get(match["msid"])
            return (200, self.render(msg)) if msg else twilio_error(20404, "Not found", 404)
        if method == "GET":
            return 200, self.list_messages(query)
        return twilio_error(20004, "Method not allowed", 405)

    def answer_voice(self, request: Request, path: str, method: str) -> tuple[int, Any]:
        """Calls (create, fetch) and recordings (fetched with the account's credentials)."""
        recording = RECORDING_RE.match(path)
        if recording and method == "GET":
            if not self._authorized(request, recording["sid"]):
                return twilio_error(20003, "Authenticate", 401)
            body = self.voice.recordings.get(recording["re"])
            if body is None:
                return twilio_error(20404, "The requested resource was not found", 404)
            return 200, Raw(content_type="audio/mpeg", body=body)
        match = CALLS_RE.match(path)
        if not match:
            return twilio_error(20404, "The requested resource was not found", 404)
        if not self._authorized(request, match["sid"]):
            return twilio_error(20003, "Authenticate", 401)
        if method == "POST" and not match["csid"]:
            form = _form(request.body)
            if not form.get("To"):
                return twilio_error(21201, "No 'To' number is specified", 400)
            if not form.get("Url") and not form.get("Twiml"):
                return twilio_error(21205, "Url parameter is required.", 400)
            if not E164_RE.fullmatch(form["To"]):
                return twilio_error(21211, f"The 'To' number {form['To']} is not a valid phone number.", 400)
            self.stats["calls_created"] += 1
            return 201, self.voice.create(form).render(self.account_sid)
        if method == "GET" and match["csid"]:
            call = self.voice.calls.get(match["csid"])
            return (200, call.render(self.account_sid)) if call else twilio_error(20404, "Not found", 404)
        return twilio_error(20004, "Method not allowed", 405)

    def _authorized(self, request: Request, sid: str) -> bool:
        auth = request.headers.get(b"authorization", b"")
        if auth == self._good_auth:  # the common case, without decoding it again per request
            return sid == self.account_sid
        if not auth.startswith(b"Basic "):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid == sid and password == self.auth_token

    # --- Messages -------------------------------------------------------------------------
    def create(self, form: dict[str, str]) -> tuple[int, Any]:
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        if not to:
            return twilio_error(21604, "A 'To' phone number is required.", 400)
        if not sender:
            return twilio_error(21603, "A 'From' phone number is required.", 400)
        if not body and not form.get("MediaUrl"):
            return twilio_error(21602, "Message body is required.", 400)
        if random.random() < self.config["rate_429"]:
            self.stats["injected_429"] += 1
            return twilio_error(20429, "Too Many Requests", 429)
        if random.random() < self.config["rate_5xx"]:
            self.stats["injected_5xx"] += 1
            return twilio_error(20500, "Internal Server Error", 500)
        if to in INVALID_NUMBERS or not E164_RE.fullmatch(to):
            return twilio_error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if to in OPTED_OUT_NUMBERS:
            return twilio_error(21610, "Attempt to send to unsubscribed recipient", 400)
        sid = f"SM{self._sid_prefix}{next(self._sid_counter):016x}"
        now = datetime.now(UTC)
        msg = {
            "sid": sid,
            "to": to,
            "from": form.get("From") or None,
            "messaging_service_sid": form.get("MessagingServiceSid") or None,
            "body": body,
            "status": "queued",
            "date_created": now,
            "created_rfc": _rfc2822(now),
            "date_sent": None,  # set when the account's queue lets it go
            "send_at": now + timedelta(seconds=float(self.config["queue_seconds"])),
            "status_callback": form.get("StatusCallback") or None,
            "num_segments": "1",
            "error_code": None,
        }
        self.messages[sid] = msg
        self.order.append(sid)
        self.by_to.setdefault(to, []).append(sid)
        self.stats["created"] += 1
        self.last_created = time.time()  # when the last message was handed over (benches read it)
        if msg["status_callback"] and self.config["callbacks"]:
            undelivered = to in UNDELIVERABLE_NUMBERS or random.random() < self.config["undelivered"]
            task = asyncio.ensure_future(self.callbacks(msg, undelivered))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return 201, self.render(msg, fresh=True)  # Twilio answers a create with the queued message

    def _advance(self, msg: dict[str, Any], now: datetime) -> None:
        """Let a queued message go once its time in the account's queue is up."""
        if msg["date_sent"] is None and now >= msg["send_at"]:
            msg["date_sent"] = msg["send_at"]
            if msg["status"] == "queued":
                msg["status"] = "sent"

    def render(self, msg: dict[str, Any], *, fresh: bool = False) -> dict[str, Any]:
        if not fresh:
            self._advance(msg, datetime.now(UTC))
        sent = msg["date_sent"]
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": msg["body"],
            "date_created": msg["created_rfc"],
            "date_sent": format_datetime(sent) if sent else None,
            "date_updated": format_datetime(sent) if sent else msg["created_rfc"],
            "direction": "outbound-api",
            "error_code": msg["error_code"],
            "error_message": None,
            "from": msg["from"],
            "messaging_service_sid": msg["messaging_service_sid"],
            "num_media": "0",
            "num_segments": msg["num_segments"],
            "price": None,
            "price_unit": "USD",
            "sid": msg["sid"],
            "status": msg["status"],
            "subresource_uris": {},
            "to": msg["to"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{msg['sid']}.json",
        }

    def list_messages(self, query: dict[str, str]) -> dict[str, Any]:
        """Newest first, filtered like Twilio's: To, From, and DateSent (=, <, >) on the sent date,
        so a message still in the queue (DateSent empty) never matches a DateSent filter."""
        to, sender = query.get("To"), query.get("From")
        on, before, after = (_when(query.get(k)) for k in ("DateSent", "DateSent<", "DateSent>"))
        now = datetime.now(UTC)
        sids = self.by_to.get(to, []) if to else self.order
        found = []
        page_size = int(query.get("PageSize", 50))
        for sid in reversed(sids):
            m = self.messages[sid]
            if sender and m["from"] != sender:
                continue
            self._advance(m, now)
            sent = m["date_sent"]
            if (on or before or after) and sent is None:
                continue
            if on is not None and not _same_day(sent, on):
                continue
            if before is not None and not _on_or_before(sent, before):
                continue
            if after is not None and not _on_or_after(sent, after):
                continue
            found.append(self.render(m, fresh=True))
            if len(found) == page_size:
                break
        return {
            "messages": found,
            "page": 0,
            "page_size": page_size,
            "first_page_uri": "",
            "next_page_uri": None,
            "previous_page_uri": None,
            "uri": "",
        }

    async def callbacks(self, msg: dict[str, Any], undelivered: bool) -> None:
        final = "undelivered" if undelivered else "delivered"
        for status in ("sent", final):
            delay = self.config["callback_delay"]
            if status == "sent":  # not before the account's queue lets it go
                waiting = (msg["send_at"] - datetime.now(UTC)).total_seconds()
                delay = max(delay, waiting)
            await asyncio.sleep(delay)
            self._advance(msg, datetime.now(UTC))
            msg["status"] = status
            params = {
                "AccountSid": self.account_sid,
                "MessageSid": msg["sid"],
                "SmsSid": msg["sid"],
                "MessageStatus": status,
                "SmsStatus": status,
                "To": msg["to"],
                "From": msg["from"] or "",
                "ApiVersion": "2010-04-01",
            }
            if status == "undelivered":
                params["ErrorCode"] = "30003"
                msg["error_code"] = 30003
            url = msg["status_callback"]
            signature = self.validator.compute_signature(url, params)
            try:
                assert self.callback_client is not None
                await self.callback_client.post(url, data=params, headers={"X-Twilio-Signature": signature})
                self.stats["callbacks"] += 1
            except httpx.HTTPError:
                self.stats["callback_errors"] += 1

    # --- Control --------------------------------------------------------------------------
    def control(self, path: str, method: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path == "/_fake/calls" and method == "POST":
            try:
                spec = json.loads(body or b"{}")
            except ValueError:
                return 400, {"error": "a call is JSON: from, url, inputs, interactive"}
            if not isinstance(spec, dict) or not spec.get("from") or not spec.get("url"):
                return 400, {"error": "from and url are required"}
            return 201, self.voice.dial_in(spec).state()
        if path == "/_fake/calls" and method == "GET":
            return 200, [call.state() for call in self.voice.calls.values()]
        fake_call = FAKE_CALL_RE.match(path)
        if fake_call:
            if fake_call["input"] and method == "POST":
                try:
                    item = json.loads(body or b"{}")
                except ValueError:
                    return 400, {"error": "input is JSON: digits, speech, hangup or agent"}
                if item.get("speech"):
                    given: Any = {"speech": str(item["speech"])}
                elif item.get("hangup"):
                    given = "hangup"
                elif item.get("agent"):
                    given = "agent"
                else:
                    given = str(item.get("digits", ""))
                if not self.voice.give(fake_call["csid"], given):
                    return 404, {"error": "no such call"}
                return 200, {"ok": True}
            call = self.voice.calls.get(fake_call["csid"])
            return (200, call.state()) if call else (404, {"error": "no such call"})
        if path == "/_fake/messages":
            to = query.get("to")
            return 200, [
                {**self.render(m), "status_callback": m["status_callback"]}
                for sid in (self.by_to.get(to, []) if to else self.order)
                if (m := self.messages[sid])
            ]
        if path == "/_fake/media" and method == "POST":
            spec = json.loads(body or b"{}")
            me = f"ME{secrets.token_hex(16)}"
            self.media[me] = {
                "content_type": spec.get("content_type", "application/octet-stream"),
                "body": base64.b64decode(spec.get("body_b64", "")),
                "redirect": spec.get("redirect", ""),
            }
            mm = f"MM{secrets.token_hex(16)}"
            return 200, {"path": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{mm}/Media/{me}"}
        if path.startswith("/_fake/cdn/") and method == "GET":
            stored = self.media.get(path.removeprefix("/_fake/cdn/"))
            if stored is None:
                return 404, {"error": "no such media"}
            return 200, Raw(content_type=stored["content_type"], body=stored["body"])
        if path == "/_fake/reset" and method == "POST":
            self.voice.reset()
            self.media.clear()
            self.messages.clear()
            self.order.clear()
            self.by_to.clear()
            self.stats.clear()
            self.last_created = 0.0
            self.peers.clear()
            self.config = dict(self.defaults)
            return 200, {"ok": True}
        if path == "/_fake/config" and method == "POST":
            try:
                update = json.loads(body or b"{}")
            except ValueError:
                return 400, {"error": "config must be JSON"}
            unknown = set(update) - set(self.config)
            if unknown:
                return 400, {"error": f"unknown keys: {sorted(unknown)}"}
            self.config.update(update)
            return 200, self.config
        if path == "/_fake/stats":
            return 200, {
                **self.stats,
                "messages": len(self.order),
                "connections": len(self.peers),
                "last_created": self.last_created,
                "config": self.config,
            }
        return 404, {"error": "unknown control endpoint"}


@lru_cache(maxsize=4)
def _rfc2822_second(second: int) -> str:
    return format_datetime(datetime.fromtimestamp(second, UTC))


def _rfc2822(when: datetime) -> str:
    """Twilio's date format, to the second like Twilio's (formatted once a second, not per create)."""
    return _rfc2822_second(int(when.timestamp()))


# A broadcast sends the same body, sender and callback URL in every create: decode each once.
_unquote_plus = lru_cache(maxsize=4096)(unquote_plus)


def _form(body: bytes) -> dict[str, str]:
    """A form body as a dict (last value wins), a quarter of parse_qsl's cost per create."""
    form = {}
    for pair in body.decode("ascii", "replace").split("&"):
        name, _, value = pair.partition("=")
        if value.startswith("%2B") and value[3:].isascii() and value[3:].isdigit():
            value = "+" + value[3:]  # a phone number, different in every create: not worth caching
        elif "%" in value or "+" in value:
            value = _unquote_plus(value)
        form[name] = value
    return form


def _when(value: str | None) -> datetime | date | None:
    """A DateSent filter value: a date (YYYY-MM-DD, as Twilio documents) or an ISO datetime."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _same_day(sent: datetime, on: datetime | date) -> bool:
    return sent.date() == (on.date() if isinstance(on, datetime) else on)


def _on_or_before(sent: datetime, bound: datetime | date) -> bool:
    return sent <= bound if isinstance(bound, datetime) else sent.date() <= bound


def _on_or_after(sent: datetime, bound: datetime | date) -> bool:
    return sent >= bound if isinstance(bound, datetime) else sent.date() >= bound


def build_app(*, account_sid: str, auth_token: str, callback_delay: float = 0.2) -> FakeTwilio:
    return FakeTwilio(account_sid=account_sid, auth_token=auth_token, callback_delay=callback_delay)


# --- HTTP ---------------------------------------------------------------------------------------
# Under uvicorn a create cost the fake 0.085 ms of CPU (a task, an ASGI round of receive/send
# and two writes per request), here 0.05 ms: the same HTTP/1.1, each answer in one write.


class _HttpConnection(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order, one write each."""

    def __init__(self, app: FakeTwilio) -> None:
        self.app = app
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.client: Any = None
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.pending: deque[tuple[Request, bool]] = deque()  # a client may pipeline requests
        self.answering: asyncio.Future | None = None  # the loop holds tasks weakly

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client = transport.get_extra_info("peername")

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._write(400, {"error": "malformed HTTP request"}, keep_alive=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url, self.headers, self.body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        path, _, query = self.url.partition(b"?")
        text = path.decode("latin-1")
        request = Request(
            method=self.parser.get_method().decode(),
            path=unquote(text) if "%" in text else text,
            query_string=query,
            headers=self.headers,
            body=b"".join(self.body),
            client=self.client,
        )
        keep_alive = self.parser.should_keep_alive()
        if not self.pending and not self.app.delays(request):
            # The common case answers at once: a task per request was a tenth of the fake's CPU.
            self._write(*self._answer(request), keep_alive=keep_alive)
            return
        self.pending.append((request, keep_alive))
        if len(self.pending) == 1:
            self.answering = asyncio.ensure_future(self._answer_pending())

    def _answer(self, request: Request) -> tuple[int, Any]:
        try:
            return self.app.answer(request)
        except Exception:  # noqa: BLE001 - a bug in the fake answers 500, as a server would
            logger.exception("fake Twilio failed to answer %s %s", request.method, request.path)
            return twilio_error(20500, "Internal Server Error", 500)

    async def _answer_pending(self) -> None:
        while self.pending:
            request, keep_alive = self.pending[0]
            if self.app.delays(request):
                await asyncio.sleep(self.app.config["latency_ms"] / 1000)
            status, payload = self._answer(request)
            self.pending.popleft()
            self._write(status, payload, keep_alive=keep_alive)

    def _write(self, status: int, payload: Any, *, keep_alive: bool) -> None:
        if self.transport is None:
            return
        if isinstance(payload, Raw):
            body = payload.body
            extra = f"location: {payload.location}\r\n" if payload.location else ""
            content_type = payload.content_type or "application/octet-stream"
        else:
            body, extra, content_type = json.dumps(payload).encode(), "", "application/json"
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n{extra}"
            + ("" if keep_alive else "connection: close\r\n")
            + "\r\n"
        )
        self.transport.write(head.encode("latin-1") + body)
        if not keep_alive:
            self.transport.close()
            self.transport = None


async def serve(app: FakeTwilio, *, host: str, port: int) -> None:
    """Serve the fake on host:port until cancelled."""
    async with httpx.AsyncClient(timeout=10) as callbacks:
        app.callback_client = callbacks
        app.base_url = f"http://{host}:{port}"
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _HttpConnection(app), host, port, reuse_address=True)
        async with server:
            await server.serve_forever()


def run(app: FakeTwilio, *, host: str, port: int) -> None:
    """Run `serve` on uvloop (shipped with uvicorn[standard]) until interrupted."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with contextlib.suppress(KeyboardInterrupt), asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(app, host=host, port=port))
