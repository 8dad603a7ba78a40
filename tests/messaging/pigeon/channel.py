"""A test-only channel, "pigeon": JSON webhooks signed with a shared secret, a gateway that keeps
what it sends. Registered only through settings (CHANNELS, CHANNEL_GATEWAYS) by the tests: if the
core needed a change to carry it, the registry would not be doing its job."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

from channels_app.base import (
    ChannelSpec,
    DeliveryReport,
    DeliveryStatus,
    InboundMessage,
    OutboundMessage,
    SendResult,
    WebhookAnswer,
    WebhookRequest,
    WebhookRoute,
)
from helpdesk.messaging import inbox
from helpdesk.messaging.delivery import record_delivery_report

SECRET = b"pigeon-test-secret"
SENT: list[OutboundMessage] = []


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def _verified_json(request: WebhookRequest) -> dict | WebhookAnswer:
    if not hmac.compare_digest(request.header("X-Pigeon-Signature"), sign(request.body)):
        return WebhookAnswer(403, "bad signature")
    try:
        data = json.loads(request.body)
    except ValueError:
        return WebhookAnswer(400, "not JSON")
    return data if isinstance(data, dict) else WebhookAnswer(400, "not an object")


def handle_inbound(request: WebhookRequest) -> WebhookAnswer:
    data = _verified_json(request)
    if isinstance(data, WebhookAnswer):
        return data
    if not data.get("id") or not data.get("from"):
        return WebhookAnswer(400, "id and from are required")
    inbox.accept(
        InboundMessage(
            channel="pigeon",
            sender_kind="chat",
            sender=str(data["from"]),
            body=str(data.get("text", "")),
            provider="pigeon",
            provider_id=str(data["id"]),
            sender_proven=True,
        )
    )
    return WebhookAnswer(202, "stored")


def handle_status(request: WebhookRequest) -> WebhookAnswer:
    data = _verified_json(request)
    if isinstance(data, WebhookAnswer):
        return data
    statuses = {"landed": DeliveryStatus.DELIVERED, "lost": DeliveryStatus.FAILED}
    if data.get("status") not in statuses or not data.get("id"):
        return WebhookAnswer(400, "id and a known status are required")
    record_delivery_report(
        DeliveryReport(provider="pigeon", provider_id=str(data["id"]), status=statuses[data["status"]])
    )
    return WebhookAnswer(204)


class PigeonGateway:
    provider = "pigeon"

    def send(self, message: OutboundMessage) -> SendResult:
        SENT.append(message)
        return SendResult(
            provider=self.provider, provider_id=f"pg-{uuid.uuid4().hex}", status=DeliveryStatus.SENT
        )


PIGEON = ChannelSpec(
    name="pigeon",
    label="Carrier pigeon",
    contact_kind="chat",
    webhooks=(
        WebhookRoute(name="pigeon:inbound", path="pigeon/in/", handler=f"{__name__}.handle_inbound"),
        WebhookRoute(name="pigeon:status", path="pigeon/status/", handler=f"{__name__}.handle_status"),
    ),
)
