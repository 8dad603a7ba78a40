from __future__ import annotations

import secrets

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

INBOUND = "/webhooks/twilio/sms/"
STATUS = "/webhooks/twilio/sms/status/"


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


class Twilio:
    """Posts to the webhooks the way Twilio does: form-encoded, signed over PUBLIC_BASE_URL + path."""

    def __init__(self, client) -> None:
        self.client = client

    def sign(self, path: str, params: dict, *, base: str | None = None) -> str:
        url = (base or settings.PUBLIC_BASE_URL) + path
        return RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    def post(self, path: str, params: dict, *, signature: str | None = None, **kwargs):
        sig = self.sign(path, params) if signature is None else signature
        headers = {"HTTP_X_TWILIO_SIGNATURE": sig} if sig else {}
        return self.client.post(path, params, **headers, **kwargs)

    def sms(self, *, sender: str = "+14155550100", body: str = "hello", sid: str | None = None, **extra):
        params = {
            "MessageSid": sid or new_sid(),
            "From": sender,
            "To": settings.TWILIO_FROM,
            "Body": body,
            **extra,
        }
        return self.post(INBOUND, params)

    def status(self, *, sid: str, status: str, error_code: str = ""):
        params = {
            "MessageSid": sid,
            "MessageStatus": status,
            **({"ErrorCode": error_code} if error_code else {}),
        }
        return self.post(STATUS, params)


@pytest.fixture
def twilio(client) -> Twilio:
    return Twilio(client)
