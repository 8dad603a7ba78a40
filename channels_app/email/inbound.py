"""Mail in: the webhook door (raw RFC 5322, HMAC-signed), the shared `accept()` every door calls
(`smtp_inbound`, `poll_mailbox`), and the parser the inbox worker runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from django.conf import settings
from django.db import DatabaseError

from channels_app.base import InboundMessage, ParsedRaw, WebhookAnswer, WebhookRequest
from channels_app.email import parse as mail_parse
from channels_app.email import thread
from helpdesk.messaging import inbox

logger = logging.getLogger(__name__)

STORED = WebhookAnswer(202, "Stored.")
ALREADY = WebhookAnswer(200, "Already stored.")


def accept(raw: bytes, *, recipient: str = "", source: str = "") -> bool:
    """Store one raw message for the worker; False when it was stored before (by Message-ID, or
    the body's hash when it has none). Every door calls this; nothing here parses the body."""
    envelope = InboundMessage(
        channel="email",
        sender_kind="email",
        sender="",
        provider=mail_parse.PROVIDER,
        provider_id=mail_parse.message_key(raw),
        recipient=recipient.lower()[:254],
        kind="message",
        payload={"door": source} if source else {},
    )
    return inbox.accept_raw(envelope, raw)


def signature_matches(request: WebhookRequest) -> bool:
    secret = settings.EMAIL_INBOUND_SECRET
    given = request.header("X-Tourniquet-Signature")
    if not secret or not given.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[7:].strip().lower(), expected)


def handle_inbound(request: WebhookRequest) -> WebhookAnswer:
    """POST /webhooks/email/inbound/: one raw message, stored once; 403 unsigned, 400 not mail."""
    if not signature_matches(request):
        return WebhookAnswer(403, "Invalid or missing X-Tourniquet-Signature.")
    if not request.body.strip():
        return WebhookAnswer(400, "The body must be one raw RFC 5322 message.")
    head = request.body[:65536]
    if b":" not in head.split(b"\n", 1)[0]:
        return WebhookAnswer(400, "The body does not begin with a mail header.")
    recipient = request.header("X-Tourniquet-Recipient")
    try:
        stored = accept(request.body, recipient=recipient, source="webhook")
    except DatabaseError as exc:
        logger.error("inbound mail not stored: database unavailable (%s)", type(exc).__name__)
        return WebhookAnswer(503, "Temporarily unavailable; retry later.")
    return STORED if stored else ALREADY


def _looping(sender: str) -> bool:
    from helpdesk.windowcount import WindowCounter

    if not settings.EMAIL_SENDER_LIMIT:
        return False
    key = "tourniquet:email:sender:" + hashlib.sha256(sender.encode()).hexdigest()[:32]
    counter = WindowCounter(key, settings.EMAIL_SENDER_LIMIT, settings.EMAIL_SENDER_WINDOW_SECONDS)
    return not counter.allow(time.time())


def parse_raw(raw: bytes, envelope: InboundMessage) -> ParsedRaw:
    """The inbox worker's parser for email (ChannelSpec.raw_parser)."""
    mail = mail_parse.parse(raw, trusted_authserv_ids=settings.EMAIL_TRUSTED_AUTHSERV_IDS)
    recipients = ([envelope.recipient] if envelope.recipient else []) + mail.to + mail.cc
    ticket_id, rule = (None, "") if mail.dsn else thread.thread_hint(mail, recipients)
    if mail.sender and not mail.dsn and not mail.automated and _looping(mail.sender):
        # Past the per-address limit: kept and shown, never answered, so a loop with another
        # responder ends here (each mail may open a ticket, so the per-ticket guard cannot see it).
        mail.automated = (
            f"more than {settings.EMAIL_SENDER_LIMIT} messages from this address in "
            f"{settings.EMAIL_SENDER_WINDOW_SECONDS // 60} minutes"
        )
    parsed = mail_parse.to_parsed_raw(
        mail, envelope, ticket_id=ticket_id, proven=mail_parse.sender_proven(mail.auth)
    )
    if parsed.message is not None and rule:
        parsed.message.payload["threaded_by"] = rule
    return parsed
