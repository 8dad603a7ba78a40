"""Twilio SMS webhooks: verify, parse, record, answer fast. Everything slow runs after commit."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from channels_app import inbox
from channels_app.base import InboundMessage
from channels_app.sms import consent
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError
from helpdesk.tickets.services import update_delivery_status

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
# Twilio's statuses → ours (see helpdesk.tickets.models.DeliveryStatus).
STATUS_MAP = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def signature_matches(path: str, params: dict[str, str], signature: str) -> bool:
    """Check X-Twilio-Signature against the public URL Twilio called (works behind a proxy)."""
    if not signature:
        return False
    url = settings.PUBLIC_BASE_URL + path
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    # The URL exactly as configured first (one HMAC); `validate` also tries it with and without
    # an explicit port, for a proxy that adds or drops one.
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return validator.validate(url, params, signature)


def _clean(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; nothing a phone sends needs it.
    return value.replace("\x00", "")[:limit]


@dataclass(frozen=True)
class Answer:
    """What a webhook answers, whichever server adapter (Django view or `channels_app.lean`) asked."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


# A webhook handler: (path and query Twilio called, form params, X-Twilio-Signature) -> Answer.
Handler = Callable[[str, dict[str, str], str], Answer]

TWIML_OK = Answer(200, EMPTY_TWIML, "text/xml")
FORBIDDEN = Answer(403, "Invalid Twilio signature.")
UNAVAILABLE = Answer(503, "Temporarily unavailable; retry later.")


def handle_inbound(path: str, params: dict[str, str], signature: str) -> Answer:
    """A customer's SMS/MMS: store it once in the inbox (`inbox.accept`) and answer empty TwiML."""
    if not signature_matches(path, params, signature):
        return FORBIDDEN
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = params.get("From", "")
    if not SID_RE.match(sid) or not sender:
        return Answer(400, "MessageSid and From are required.")
    try:
        num_media = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        return Answer(400, "NumMedia must be a number.")
    media = [_clean(params[f"MediaUrl{i}"], 1000) for i in range(num_media) if params.get(f"MediaUrl{i}")]
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
        language=consent.guess_language(body),
        payload={
            k: _clean(params[k], 200)
            for k in ("FromCity", "FromState", "FromCountry", "NumSegments", "MessagingServiceSid")
            if params.get(k)
        },
    )
    try:
        normalize_phone(message.sender)
    except ApplicationError as exc:
        return Answer(400, exc.message)
    try:
        # A worker later resolves the customer, threads and runs the handlers.
        inbox.accept(message)
    except DatabaseError:
        # Nothing was stored: a 5xx makes Twilio try again (or its fallback URL).
        logger.exception("inbound SMS %s not stored: database unavailable", sid)
        return UNAVAILABLE
    return TWIML_OK


def handle_status(path: str, params: dict[str, str], signature: str) -> Answer:
    """A delivery status callback: move the event forward, never backwards."""
    if not signature_matches(path, params, signature):
        return FORBIDDEN
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not SID_RE.match(sid) or twilio_status not in STATUS_MAP:
        return Answer(400, "MessageSid and a known MessageStatus are required.")
    error_code = _clean(params.get("ErrorCode", ""), 10)
    from channels_app.sms.gateway import DELIVERY_ERRORS

    try:
        moved = update_delivery_status(
            provider="twilio",
            provider_id=sid,
            status=STATUS_MAP[twilio_status],
            error_code=error_code,
            error_message=DELIVERY_ERRORS.get(error_code, "") if error_code else "",
        )
        if error_code:
            consent.apply_delivery_error(provider_id=sid, error_code=error_code)
        if not moved:
            # Not an outbox message: maybe a crisis broadcast delivery (those skip the outbox).
            from helpdesk.crisis.services import record_delivery_status

            moved = bool(record_delivery_status(provider_id=sid, status=STATUS_MAP[twilio_status]))
    except DatabaseError:
        logger.exception("status %s for %s not stored: database unavailable", twilio_status, sid)
        return UNAVAILABLE
    if not moved:
        logger.debug("status %s for %s ignored (unknown or not newer)", twilio_status, sid)
    return Answer(204, "")


def _django_door(handler: Handler, doc: str) -> Callable:
    """A Django view for a webhook handler (production serves these paths by `channels_app.lean`)."""

    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        answer = handler(
            request.get_full_path(), request.POST.dict(), request.headers.get("X-Twilio-Signature", "")
        )
        return HttpResponse(answer.body, content_type=answer.content_type, status=answer.status)

    view.__doc__ = doc
    return view


inbound = _django_door(handle_inbound, "Django's door to `handle_inbound`.")
status = _django_door(handle_status, "Django's door to `handle_status`.")
