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
    """Token buckets and dispatcher leases live in Redis; a test never inherits another test's."""
    from helpdesk import redis_client

    client = redis_client.get()
    for pattern in ("tourniquet:bucket:*", "tourniquet:broadcast:*"):  # buckets and dispatcher leases
        for key in client.scan_iter(pattern):
            client.delete(key)
