from __future__ import annotations

import pytest

from tests.crisis import gateways


@pytest.fixture
def recording_gateway(settings):
    """Send broadcasts through the recording gateway; start each test with an empty record."""
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "sms": "tests.crisis.gateways.RecordingGateway"}
    gateways.reset()
    yield gateways
    gateways.reset()


@pytest.fixture(autouse=True)
def _fresh_buckets():
    """Token buckets live in Redis; a test never inherits another test's tokens."""
    from django.conf import settings

    from helpdesk.crisis.ratelimit import _client

    client = _client(settings.REDIS_URL)
    for key in client.scan_iter("tourniquet:bucket:*"):
        client.delete(key)
