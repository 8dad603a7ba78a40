"""Twilio SMS webhooks: verify, parse, record, answer fast. Everything slow runs after commit."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
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


def signature_is_valid(request: HttpRequest) -> bool:
    """Check X-Twilio-Signature against the public URL Twilio called (works behind a proxy)."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST.dict(), signature)


def _clean(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; nothing a phone sends needs it.
    return value.replace("\x00", "")[:limit]


def twiml(status: int = 200) -> HttpResponse:
    return HttpResponse(EMPTY_TWIML, content_type="text/xml", status=status)


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """A customer's SMS/MMS: record it once and answer empty TwiML."""
    if not signature_is_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    data = request.POST
    sid = data.get("MessageSid") or data.get("SmsSid") or ""
    sender = data.get("From", "")
    if not SID_RE.match(sid) or not sender:
        return HttpResponseBadRequest("MessageSid and From are required.")
    try:
        num_media = min(int(data.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        return HttpResponseBadRequest("NumMedia must be a number.")
    media = [_clean(data[f"MediaUrl{i}"], 1000) for i in range(num_media) if data.get(f"MediaUrl{i}")]
    body = _clean(data.get("Body", ""), 10_000)
    message = InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender=_clean(sender, 64),
        body=body,
        provider="twilio",
        provider_id=sid,
        recipient=_clean(data.get("To", ""), 64),
        media=media,
        language=consent.guess_language(body),
        payload={
            k: _clean(data[k], 200)
            for k in ("FromCity", "FromState", "FromCountry", "NumSegments", "MessagingServiceSid")
            if data.get(k)
        },
    )
    try:
        normalize_phone(message.sender)
    except ApplicationError as exc:
        return HttpResponseBadRequest(exc.message)
    # One INSERT and one publish; a worker resolves the customer, threads and runs handlers.
    inbox.accept(message)
    return twiml()


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    """A delivery status callback: move the event forward, never backwards."""
    if not signature_is_valid(request):
        return HttpResponseForbidden("Invalid Twilio signature.")
    data = request.POST
    sid = data.get("MessageSid") or data.get("SmsSid") or ""
    twilio_status = (data.get("MessageStatus") or data.get("SmsStatus") or "").lower()
    if not SID_RE.match(sid) or twilio_status not in STATUS_MAP:
        return HttpResponseBadRequest("MessageSid and a known MessageStatus are required.")
    error_code = _clean(data.get("ErrorCode", ""), 10)
    from channels_app.sms.gateway import DELIVERY_ERRORS

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
    if not moved:
        logger.debug("status %s for %s ignored (unknown or not newer)", twilio_status, sid)
    return HttpResponse(status=204)
