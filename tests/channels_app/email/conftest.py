"""Email fixtures: a real SMTP server (aiosmtpd, in this process) standing for the customer's
mail provider, and helpers that post raw mail to the signed webhook door."""

from __future__ import annotations

import hashlib
import hmac
import socket
from email import policy
from email.parser import BytesParser

import pytest

SECRET = "tests-email-secret"


class Mailbox:
    """Every message the SMTP server accepted: (envelope recipients, parsed message, raw bytes)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], object, bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        self.received.append(
            (list(envelope.rcpt_tos), BytesParser(policy=policy.default).parsebytes(raw), raw)
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [msg for rcpts, msg, _ in self.received if address in rcpts]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on localhost; the email gateway sends to it."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "email": "channels_app.email.gateway.SmtpGateway",
    }
    yield mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def _email_settings(settings):
    settings.EMAIL_INBOUND_SECRET = SECRET
    settings.EMAIL_TRUSTED_AUTHSERV_IDS = ["mx.desk.test"]
    settings.DEFAULT_FROM_EMAIL = "help@desk.test"
    settings.EMAIL_MESSAGE_ID_DOMAIN = "desk.test"


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def post_mail(client, raw: bytes, *, signature: str | None = None):
    return client.post(
        "/webhooks/email/inbound/",
        data=raw,
        content_type="message/rfc822",
        headers={"X-Tourniquet-Signature": sign(raw) if signature is None else signature},
    )
