"""The channel registry: a channel registered only in settings works end to end, core untouched."""

from __future__ import annotations

import json

import pytest

from channels_app.base import reply_channels, webhook_url_path
from helpdesk.tickets.models import Direction, TimelineEvent
from helpdesk.tickets.services import send_reply
from tests.factories import UserFactory
from tests.messaging.pigeon import channel as pigeon

pytestmark = pytest.mark.django_db


@pytest.fixture
def pigeon_channel(settings):
    settings.CHANNELS = [*settings.CHANNELS, "tests.messaging.pigeon.channel.PIGEON"]
    settings.CHANNEL_GATEWAYS = {
        **settings.CHANNEL_GATEWAYS,
        "pigeon": "tests.messaging.pigeon.channel.PigeonGateway",
    }
    pigeon.SENT.clear()
    return pigeon


def post(client, name: str, data: dict, *, signature: str | None = None):
    body = json.dumps(data).encode()
    return client.post(
        webhook_url_path(name),
        body,
        content_type="application/json",
        HTTP_X_PIGEON_SIGNATURE=pigeon.sign(body) if signature is None else signature,
    )


def test_a_channel_registered_in_settings_receives_replies_and_takes_status_callbacks(
    client, pigeon_channel, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = post(client, "pigeon:inbound", {"id": "p1", "from": "loft-7", "text": "The bridge is out"})
    assert answer.status_code == 202
    inbound = TimelineEvent.objects.get(direction=Direction.IN)
    assert (inbound.channel, inbound.body, inbound.contact_point.value) == (
        "pigeon",
        "The bridge is out",
        "loft-7",
    )

    assert "pigeon" in reply_channels()
    with django_capture_on_commit_callbacks(execute=True):
        reply = send_reply(ticket=inbound.ticket, author=UserFactory(), body="Stay on high ground")
    reply.refresh_from_db()
    assert reply.channel == "pigeon"  # the customer's channel, from the registry
    assert [m.to for m in pigeon_channel.SENT] == ["loft-7"]
    assert reply.delivery_status == "sent"

    assert post(client, "pigeon:status", {"id": reply.provider_id, "status": "landed"}).status_code == 204
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"


def test_the_adapters_signature_check_guards_its_webhooks(client, pigeon_channel):
    assert post(client, "pigeon:inbound", {"id": "p2", "from": "x"}, signature="sha256=00").status_code == 403
    assert post(client, "pigeon:inbound", {"from": "x"}).status_code == 400
    assert not TimelineEvent.objects.exists()


def test_an_unregistered_channel_has_no_webhooks(client, settings):
    assert client.post("/webhooks/pigeon/in/", b"{}", content_type="application/json").status_code == 404
