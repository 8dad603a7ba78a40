"""Twilio SMS webhooks: verify, parse, store, answer fast. Everything slow runs in a worker.

Handlers take the door's `WebhookRequest` (helpdesk.messaging.door) and call core services; the
registry (`channels_app.sms.spec`) names them, so both doors serve the same code.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError

from channels_app.base import DeliveryReport, InboundMessage, WebhookAnswer, WebhookRequest
from channels_app.sms.errors import STATUS_MAP, describe
from channels_app.twilio_api.webhooks import SID_RE, TWIML_OK, UNAVAILABLE, clean, refusal
from helpdesk.customers.services import normalize_phone
from helpdesk.errors import ApplicationError
from helpdesk.languages import guess_language
from helpdesk.messaging import inbox
from helpdesk.messaging.delivery import record_delivery_report

logger = logging.getLogger(__name__)

MAX_MEDIA = 10


def handle_inbound(request: WebhookRequest) -> WebhookAnswer:
    """A customer's SMS/MMS: store it once in the inbox (`inbox.accept`) and answer empty TwiML."""
    if (refused := refusal(request)) is not None:
        return refused
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
    media = [clean(params[f"MediaUrl{i}"], 1000) for i in indexes]
    # What Twilio says each file is: the timeline shows an image inline only when it says image/*
    # (and the proxy serves it inline only when its bytes are one).
    media_types = [clean(params.get(f"MediaContentType{i}", ""), 100).lower() for i in indexes]
    body = clean(params.get("Body", ""), 10_000)
    message = InboundMessage(
        channel="sms",
        sender_kind="phone",
        sender=clean(sender, 64),
        body=body,
        provider="twilio",
        provider_id=sid,
        recipient=clean(params.get("To", ""), 64),
        media=media,
        language=guess_language(body),
        sender_proven=True,  # the request carries Twilio's signature: the number wrote it
        payload={
            **{
                k: clean(params[k], 200)
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
    if (refused := refusal(request)) is not None:
        return refused
    params = request.form
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if not SID_RE.match(sid) or twilio_status not in STATUS_MAP:
        return WebhookAnswer(400, "MessageSid and a known MessageStatus are required.")
    error_code = clean(params.get("ErrorCode", ""), 10)
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
