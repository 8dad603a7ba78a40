from __future__ import annotations

import io
import secrets
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from twilio.request_validator import RequestValidator

FORM = "application/x-www-form-urlencoded"
INBOUND = "/webhooks/twilio/sms/"
STATUS = "/webhooks/twilio/sms/status/"


def new_sid() -> str:
    return "SM" + secrets.token_hex(16)


class LeanResponse:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.content = body

    def __getitem__(self, header: str) -> str:
        return self.headers[header]


class LeanClient:
    """Posts through production's WSGI entry point (helpdesk.wsgi), form-encoded as Twilio does,
    so webhook paths take the lean door (helpdesk.messaging.door.FastDoor) and everything else Django's."""

    def __init__(self) -> None:
        from helpdesk.wsgi import application

        self.app = application

    def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "", **extra
    ) -> LeanResponse:
        path, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **extra,
        }
        captured: list = []
        # As Django's test client does: the request must not close the test's transaction.
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            chunks = self.app(
                environ, lambda status, headers, exc_info=None: captured.extend([status, headers])
            )
            body_out = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)
        return LeanResponse(captured[0], captured[1], body_out)

    def post(self, path: str, data: dict, **extra) -> LeanResponse:
        return self.request("POST", path, urlencode(data).encode(), FORM, **extra)

    def get(self, path: str, **extra) -> LeanResponse:
        return self.request("GET", path, **extra)


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


@pytest.fixture(params=["django", "lean"])
def twilio(request, client) -> Twilio:
    """Every webhook test runs through both doors: Django's view and production's lean WSGI route."""
    return Twilio(client if request.param == "django" else LeanClient())
