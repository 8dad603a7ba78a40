"""Twilio SMS webhooks: verify, parse, store, answer fast. Everything slow runs in a worker.

Handlers take the door's `WebhookRequest` (helpdesk.messaging.door) and call core services; the
registry (`channels_app.sms.spec`) names them, so both doors serve the same code.
"""

from __future__ import annotations

import hmac
import logging
import re

from django.conf import settings
from django.db import DatabaseError
from twilio.request_validator import RequestValidator

from channels_app.base import DeliveryReport, InboundMessage, WebhookAnswer, WebhookRequest
from channels_app.sms.errors import STATUS_MAP, describe
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError
from helpdesk.languages import guess_language
from helpdesk.messaging import inbox
from helpdesk.messaging.delivery import record_delivery_report

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
TWIML_OK = WebhookAnswer(200, EMPTY_TWIML, "text/xml")
FORBIDDEN = WebhookAnswer(403, "Invalid Twilio signature.")
UNAVAILABLE = WebhookAnswer(503, "Temporarily unavailable; retry later.")


NOT_CONFIGURED = WebhookAnswer(503, "TWILIO_AUTH_TOKEN is the demo's; set the account's token.")


def demo_token_in_production() -> bool:
    """The shipped demo token signs anyone's webhooks: production refuses them until it is set."""
    return not settings.DEBUG and settings.TWILIO_AUTH_TOKEN == settings.TWILIO_DEMO_AUTH_TOKEN


def signature_matches(request: WebhookRequest) -> bool:
    """Check X-Twilio-Signature against the public URL Twilio called (works behind a proxy)."""
    signature = request.header("X-Twilio-Signature")
    if not signature:
        return False
    url = settings.PUBLIC_BASE_URL + request.path
    params = dict(request.form)
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    # The URL exactly as configured first (one HMAC); `validate` also tries it with and without
    # an explicit port, for a proxy that adds or drops one.
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return validator.validate(url, params, signature)


def _clean(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; nothing a phone sends needs it.
    return value.replace("\x00", "")[:limit]


def handle_inbound(request: WebhookRequest) -> WebhookAnswer:
    """A customer's SMS/MMS: store it once in the inbox (`inbox.accept`) and answer empty TwiML."""
    if demo_token_in_production():
        return NOT_CONFIGURED
    if not signature_matches(request):
        return FORBIDDEN
    params = request.form
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = params.get("From", "")
    if not SID_RE.match(sid) or not sender:
        return WebhookAnswer(400, "MessageSid and From are required.")
    try:
        num_media = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        return WebhookAnswer(400, "NumMedia must be a number.")
    indexes = [i for i in range(num_media) if params.get(f"MediaUrl{i}")]
    media = [_clean(params[f"MediaUrl{i}"], 1000) for i in indexes]
    # What Twilio says each file is: the timeline shows an image inline only when it says image/*
    # (and the proxy serves it inline only when its bytes are one).
    media_types = [_clean(params.get(f"MediaContentType{i}", ""), 100).lower() for i in indexes]
    body = _clean(params.get("Body", ""), 10_000)
    message = InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender=_clean(sender, 64),
        body=body,
        provider="twilio",
        provider_id=sid,
        recipient=_clean(params.get("To", ""), 64),
        media=media,
        language=guess_language(body),
        sender_proven=True,  # the request carries Twilio's signature: the number wrote it
        payload={
            **{
                k: _clean(params[k], 200)
                for k in ("FromCity", "FromState", "FromCountry", "NumSegments", "MessagingServiceSid")
                if params.get(k)
            },
            **({"media_types": media_types} if media else {}),
        },
    )
    try:
        normalize_phone(message.sender)
    except ApplicationError as exc:
        return WebhookAnswer(400, exc.message)
    try:
        # A worker later resolves the customer, threads and runs the handlers.
        inbox.accept(message)
    except DatabaseError as exc:
        # Nothing was stored: a 5xx makes Twilio try again (or its fallback URL). The error's own
        # text can quote row values (a phone number): name its class only.
        logger.error("inbound SMS %s not stored: database unavailable (%s)", sid, type(exc).__name__)
        return UNAVAILABLE
    return TWIML_OK


def handle_status(request: WebhookRequest) -> WebhookAnswer:
    """A delivery status callback: one report for the core, which moves the message forward only."""
    if demo_token_in_production():
        return NOT_CONFIGURED
    if not signature_matches(request):
        return FORBIDDEN
    params = request.form
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not SID_RE.match(sid) or twilio_status not in STATUS_MAP:
        return WebhookAnswer(400, "MessageSid and a known MessageStatus are required.")
    error_code = _clean(params.get("ErrorCode", ""), 10)
    known = describe(error_code)
    report = DeliveryReport(
        provider="twilio",
        provider_id=sid,
        status=STATUS_MAP[twilio_status],
        error_code=error_code,
        error_message=known.message if known else "",
        contact_state=known.contact_state if known else None,
    )
    try:
        moved = record_delivery_report(report)
    except DatabaseError as exc:
        logger.error(
            "status %s for %s not stored: database unavailable (%s)", twilio_status, sid, type(exc).__name__
        )
        return UNAVAILABLE
    if not moved:
        logger.debug("status %s for %s ignored (unknown or not newer)", twilio_status, sid)
    return WebhookAnswer(204, "")
