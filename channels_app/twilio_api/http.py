"""Twilio's REST API for every adapter that speaks it (SMS, voice): where it is, and the SDK's client.

`TWILIO_API_BASE` points the official SDK at the local fake (channels_app.fake_twilio) in tests
and the demo; nothing patches the SDK.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_HOST = "https://api.twilio.com"
REQUEST_TIMEOUT = 15.0


def api_url(url: str) -> str:
    """The URL on api.twilio.com, or on TWILIO_API_BASE when that is set (the local fake)."""
    base = settings.TWILIO_API_BASE
    if base and url.startswith(TWILIO_HOST):
        return base.rstrip("/") + url[len(TWILIO_HOST) :]
    return url


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, sending to TWILIO_API_BASE instead of api.twilio.com when set."""

    def request(self, method, url, *args, **kwargs):
        return super().request(method, api_url(url), *args, **kwargs)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        # The SDK formats ~8 INFO lines per request before the logger drops them.
        if self.logger.isEnabledFor(logging.INFO):
            super().log_request(kwargs)

    def log_response(self, status_code: int, response: Any) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            super().log_response(status_code, response)


def sync_client(timeout: float = REQUEST_TIMEOUT) -> Client:
    """A blocking SDK client from settings read now (calls placed by an agent, fetches)."""
    http_client = RedirectingHttpClient(timeout=timeout)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
