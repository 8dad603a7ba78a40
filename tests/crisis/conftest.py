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
    from helpdesk import redis_client

    client = redis_client.get()
    for key in client.scan_iter("tourniquet:bucket:*"):
        client.delete(key)
