"""The channel interface: what every adapter receives, sends, reports and raises, and the registry.

Provider words (MessageSid, CallSid, SDK exceptions, "accepted", "queued") stay inside adapters;
the core sees these values. This module imports nothing from `helpdesk` (import-linter holds it):
adapters depend on it, and so does the core.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any, Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string

# --- Values -----------------------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    """Where an outbound message stands. Ordered by progress (see DELIVERY_RANK)."""

    PENDING = "pending"  # written, not handed to any gateway yet
    QUEUED = "queued"  # the provider accepted it and holds it (e.g. behind the account's rate)
    SENDING = "sending"  # the provider handed it to the carrier
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    BLOCKED = "blocked"  # we refused to send (opted out, invalid, no verified point)
    PRINTED = "printed"  # the demo's console gateway printed it: nothing left the machine
    RECEIVED = "received"  # inbound


# A late callback never moves a message backwards: only a higher rank replaces a lower one.
DELIVERY_RANK: dict[str, int] = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.QUEUED: 1,
    DeliveryStatus.SENDING: 2,
    DeliveryStatus.SENT: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.UNDELIVERED: 4,
    DeliveryStatus.FAILED: 4,
    DeliveryStatus.BLOCKED: 4,
    DeliveryStatus.PRINTED: 4,
    DeliveryStatus.RECEIVED: 4,
}
FINAL_FAILURES = frozenset({DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED})


class ContactState(StrEnum):
    """What a provider learned about a recipient that outlives one message."""

    OPTED_OUT = "opted_out"  # replied STOP at the carrier (Twilio 21610)
    INVALID = "invalid"  # not a number or address that can receive on this channel
    BOUNCING = "bouncing"  # an email address that bounces (hard bounce)


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent us, already verified and parsed by its adapter."""

    channel: str  # sms, email, voice, chat, web, or any registered channel
    sender_kind: str  # phone, email, chat
    sender: str  # the customer's address on that channel, raw (normalized by the core)
    body: str = ""
    body_html: str = ""  # already sanitized by the adapter (an email's HTML part)
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
    # The provider vouched that the sender holds `sender` (a signed webhook from the phone
    # network); an unproven sender (a web form) never reaches a known customer's record.
    sender_proven: bool = False
    # With `sender_proven`: the proof also verifies the point (a signed SMS from the number). A
    # caller id matches a known caller but verifies no new number (callers prove it otherwise).
    proves_contact: bool = True
    # A machine wrote it (an auto-reply, a vacation notice, a mail loop): it is kept and shown, but
    # nothing answers it automatically and it never reopens a solved ticket.
    automated: bool = False


@dataclass(frozen=True)
class ParsedRaw:
    """What a channel's parser made of a raw message the door stored unparsed (an email).

    `message` is recorded like any inbound message; `reports` are delivery reports the raw message
    carried (a bounce); `error` says why neither could be made (the raw message stays kept)."""

    message: InboundMessage | None = None
    reports: list[DeliveryReport] = field(default_factory=list)
    error: str = ""
    note: str = ""  # what was done with a message that is not a customer's (a bounce's summary)


@dataclass(frozen=True)
class OutboundMessage:
    """One message to send: built by the relay from an outbox row, or by a broadcast dispatch."""

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
    """A gateway took the message: the provider's id and where it stands now."""

    provider: str
    provider_id: str | None
    status: DeliveryStatus = DeliveryStatus.SENT
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    """A message the provider holds for us (sent or still queued), for the crash reconciler."""

    provider_id: str
    to: str
    body: str
    status: DeliveryStatus
    created_at: datetime | None = None


@dataclass(frozen=True)
class Media:
    """A file a customer attached to a message (an MMS photo), as its provider served it."""

    content_type: str  # as the provider declared it: lower-case, no parameters; not to be trusted
    body: bytes


@dataclass(frozen=True)
class DeliveryReport:
    """What a provider said about one message: from a send result, an error or a status callback."""

    provider: str
    provider_id: str
    status: DeliveryStatus
    error_code: str = ""
    error_message: str = ""
    contact_state: ContactState | None = None


@dataclass(frozen=True)
class SendingAccount:
    """The provider account a gateway sends through: one rate limit is shared by all its traffic."""

    key: str  # e.g. "twilio:AC…:+15005550006"; never a secret
    rate_per_second: float  # 0: the provider sets no limit we know of


class ChannelError(Exception):
    """Sending failed. `permanent` errors are not retried; `code` is the provider's error code."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str = "",
        retry_after: float | None = None,
        contact_state: ContactState | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        # What the provider said of the recipient (e.g. Twilio 21610: opted out).
        self.contact_state = contact_state


# --- Gateways ---------------------------------------------------------------------------------


@runtime_checkable
class Gateway(Protocol):
    """Sends on one channel. Implementations are registered by dotted path in CHANNEL_GATEWAYS."""

    provider: str

    def send(self, message: OutboundMessage) -> SendResult: ...


@runtime_checkable
class BatchGateway(Gateway, Protocol):
    """A gateway that sends a batch concurrently (the Twilio gateway's async client)."""

    def send_many(self, messages: Sequence[OutboundMessage]) -> list[SendResult | ChannelError]: ...


@runtime_checkable
class SentLookup(Protocol):
    """A gateway that can list what the provider holds for a recipient (crash reconciliation)."""

    def find_sent(self, *, to: str, since: datetime) -> list[SentMessage]: ...


@runtime_checkable
class RateLimited(Protocol):
    """A gateway whose provider limits messages per second for the account it sends through."""

    def sending_account(self) -> SendingAccount: ...


def send_many(gateway: Gateway, messages: Sequence[OutboundMessage]) -> list[SendResult | ChannelError]:
    """Send a batch, one result or error per message in order (one at a time unless batch-capable)."""
    if isinstance(gateway, BatchGateway):
        return gateway.send_many(messages)
    results: list[SendResult | ChannelError] = []
    for message in messages:
        try:
            results.append(gateway.send(message))
        except ChannelError as exc:
            results.append(exc)
    return results


def sending_account(gateway: Gateway) -> SendingAccount | None:
    """The account whose rate the gateway's traffic shares, or None when it has no limit."""
    if isinstance(gateway, RateLimited):
        return gateway.sending_account()
    return None


@cache
def _import(path: str) -> Any:
    return import_string(path)


def gateway_path(channel: str) -> str:
    """The dotted path configured for the channel, '' when none (or a demo gateway in production)."""
    path = settings.CHANNEL_GATEWAYS.get(channel, "")
    if path and getattr(_import(path), "demo_only", False) and not settings.DEMO_GATEWAYS_ENABLED:
        return ""
    return path


def gateway_configured(channel: str) -> bool:
    """True when something can send on the channel here."""
    return bool(gateway_path(channel))


def get_gateway(channel: str) -> Gateway:
    """Return the gateway configured for the channel (settings read at call time)."""
    path = gateway_path(channel)
    if not path:
        raise ChannelError(f"No gateway is configured for channel {channel!r}.", permanent=True)
    return _import(path)()


# --- Webhooks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    """A provider's request as the door received it: enough for a Twilio form, a MIME email or JSON."""

    method: str
    path: str  # path and query string as called (what providers sign, after PUBLIC_BASE_URL)
    headers: Mapping[str, str]  # names lower-case
    body: bytes
    content_type: str = ""  # media type only, lower-case
    form: Mapping[str, str] = field(default_factory=dict)  # parsed urlencoded/multipart fields
    files: Mapping[str, bytes] = field(default_factory=dict)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass(frozen=True)
class WebhookAnswer:
    """What a webhook answers, whichever door (Django view or the fast WSGI door) asked."""

    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


WebhookHandler = Callable[[WebhookRequest], WebhookAnswer]


@dataclass(frozen=True)
class WebhookRoute:
    """One webhook a channel serves under /webhooks/."""

    name: str  # "sms:inbound": unique, used to build the URL
    path: str  # below /webhooks/, e.g. "twilio/sms/"
    handler: str  # dotted path of a WebhookHandler
    # Served by the fast door outside Django's middleware (hot, signed, no session or CSRF).
    fast: bool = False
    # The setting naming the bytes the route accepts ('': DATA_UPLOAD_MAX_MEMORY_SIZE, and the body
    # is parsed as a form); a larger body is answered 413.
    max_body_setting: str = ""
    # The handler's only database work retries once on a dropped connection, so the door may skip
    # the per-request health-check round trip (CONN_HEALTH_CHECKS).
    retries_dropped_connection: bool = False

    @property
    def max_body(self) -> int | None:
        """A raw-body route's limit in bytes (read at call time), None for a form route."""
        return getattr(settings, self.max_body_setting) if self.max_body_setting else None

    @property
    def url_path(self) -> str:
        return "/webhooks/" + self.path

    def resolve(self) -> WebhookHandler:
        return _import(self.handler)


# --- The channel registry ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelSpec:
    """A channel declares itself once; the core reads this, never a constant of its own."""

    name: str  # the value stored on events and tickets: "sms", "email"...
    label: Any  # str, or a lazily translated one (gettext_lazy)
    contact_kind: str  # the kind of contact point it delivers to: phone, email, chat
    reply_channel: str = ""  # a reply to a message on this channel goes out on… ('' = the same)
    webhooks: tuple[WebhookRoute, ...] = ()
    # Dotted path of `handle(event) -> bool` for consent keywords (STOP/START/HELP) on this channel.
    keywords_handler: str = ""
    realtime: bool = False  # the customer is there now (chat, a call): answers go out at once
    sends: bool = True  # messages can go out on it (a web form cannot be answered on the web form)
    # Dotted path of `fetch(url) -> Media` for the files its inbound messages carry (payload
    # "media"): it asks only the provider's own hosts and raises ChannelError (code "not_allowed"
    # for a URL it will not fetch).
    media_fetcher: str = ""
    # Dotted path of `parse(raw: bytes, envelope: InboundMessage) -> ParsedRaw` for messages its
    # doors store raw (`inbox.accept_raw`): parsing runs in the worker, never in the door.
    raw_parser: str = ""


def _load_specs(paths: tuple[str, ...]) -> dict[str, ChannelSpec]:
    specs: dict[str, ChannelSpec] = {}
    routes: set[str] = set()
    for path in paths:
        spec = _import(path)
        if not isinstance(spec, ChannelSpec):
            raise TypeError(f"{path} is not a ChannelSpec")
        if spec.name in specs:
            raise ValueError(f"channel {spec.name!r} is registered twice")
        for route in spec.webhooks:
            if route.path in routes:
                raise ValueError(f"webhook path {route.path!r} is registered twice")
            routes.add(route.path)
        specs[spec.name] = spec
    return specs


_loaded: dict[tuple[str, ...], dict[str, ChannelSpec]] = {}


def channels() -> dict[str, ChannelSpec]:
    """Every registered channel by name, in settings.CHANNELS order (read at call time)."""
    paths = tuple(settings.CHANNELS)
    specs = _loaded.get(paths)
    if specs is None:
        specs = _loaded[paths] = _load_specs(paths)
    return specs


def channel_spec(name: str) -> ChannelSpec | None:
    return channels().get(name)


def reply_channel_of(name: str) -> str:
    """The channel a reply to a message on `name` goes out on."""
    spec = channel_spec(name)
    return (spec.reply_channel or spec.name) if spec else name


def contact_kind_of(name: str) -> str:
    """The kind of contact point the channel delivers to ('' for an unknown channel)."""
    spec = channel_spec(name)
    return spec.contact_kind if spec else ""


def reply_channels() -> list[str]:
    """Channels an agent can reply on here: they send, and a gateway is configured for them."""
    return [spec.name for spec in channels().values() if spec.sends and gateway_configured(spec.name)]


def webhook_routes() -> dict[str, WebhookRoute]:
    """Every channel's webhooks by path below /webhooks/."""
    return {route.path: route for spec in channels().values() for route in spec.webhooks}


def webhook_url_path(name: str) -> str:
    """The absolute path of a named webhook ("sms:status" → "/webhooks/twilio/sms/status/")."""
    for spec in channels().values():
        for route in spec.webhooks:
            if route.name == name:
                return route.url_path
    raise KeyError(name)


def keyword_handlers() -> dict[str, str]:
    """Channel name → dotted path of its consent keywords handler."""
    return {spec.name: spec.keywords_handler for spec in channels().values() if spec.keywords_handler}


def parse_raw(channel: str, raw: bytes, envelope: InboundMessage) -> ParsedRaw:
    """Parse a raw message a door stored for the channel, through its adapter."""
    spec = channels().get(channel)
    if spec is None or not spec.raw_parser:
        return ParsedRaw(error=f"channel {channel!r} has no parser for raw messages")
    return _import(spec.raw_parser)(raw, envelope)


def fetch_media(channel: str, url: str) -> Media:
    """Fetch one file attached to an inbound message on the channel, through its adapter."""
    spec = channels().get(channel)
    if spec is None or not spec.media_fetcher:
        raise ChannelError(f"Channel {channel!r} has no media to fetch.", permanent=True, code="not_allowed")
    return _import(spec.media_fetcher)(url)
