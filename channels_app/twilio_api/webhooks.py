"""Twilio's webhooks, for every adapter they call (SMS, voice): the signature and shared answers."""

from __future__ import annotations

import hmac
import re

from django.conf import settings
from twilio.request_validator import RequestValidator

from channels_app.base import WebhookAnswer, WebhookRequest

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
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


def refusal(request: WebhookRequest) -> WebhookAnswer | None:
    """The answer to a request that must go no further (demo token in production, bad signature)."""
    if demo_token_in_production():
        return NOT_CONFIGURED
    if not signature_matches(request):
        return FORBIDDEN
    return None


def clean(value: str, limit: int) -> str:
    """A provider's field as we store it: PostgreSQL text cannot hold NUL; no phone sends one."""
    return value.replace("\x00", "")[:limit]
