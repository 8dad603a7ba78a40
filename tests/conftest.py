"""Shared fixtures. Process fixtures (Celery worker, fake Twilio, live servers) live in tests/fixtures/."""

from __future__ import annotations

import pytest

from helpdesk.accounts.models import Role
from tests.factories import UserFactory

pytest_plugins = ["tests.fixtures.processes", "tests.fixtures.browser"]


def pytest_configure(config):
    """Tests run with DEBUG off, where the demo's Twilio token is refused (503): sign with another.
    Process fixtures pass this one on to the servers and workers they start."""
    from django.conf import settings

    settings.TWILIO_AUTH_TOKEN = "tests-auth-token-0000000000000000"


@pytest.fixture(autouse=True)
def _eager_celery(request, settings):
    """Unit tests run tasks in-process; integration tests send them to a real worker instead."""
    from helpdesk.celery import app

    eager = request.node.get_closest_marker("integration") is None
    settings.CELERY_TASK_ALWAYS_EAGER = eager
    app.conf.task_always_eager = eager
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The local-memory cache outlives a test: sign-in failure counts and form rate limits must not
    carry over from one test to the next."""
    from django.core.cache import cache

    from helpdesk.messaging import flood

    cache.clear()
    flood.reset_all()  # per-ticket inbound counts: ticket ids repeat between test databases


@pytest.fixture(autouse=True)
def _public_snapshot_per_read(settings):
    """The public crisis snapshot is rebuilt on each read: test databases roll back without the
    commit that would refresh it (the snapshot tests set a freshness themselves)."""
    settings.PUBLIC_SNAPSHOT_FRESH_SECONDS = 0
    yield
    from helpdesk.crisis import public

    public.invalidate()  # a test that kept a fresh copy leaves none behind


@pytest.fixture(autouse=True)
def _no_quiet_hours(settings):
    """Broadcasts in tests go out whatever the hour the suite runs (the quiet-hours tests set them)."""
    settings.BROADCAST_QUIET_HOURS = None


CONSOLE = "channels_app.console.gateway.ConsoleGateway"


@pytest.fixture(autouse=True)
def _console_gateways(settings):
    """Tests run with DEBUG off, like production; the demo's console gateway (which marks what it
    prints "printed", never "delivered") stands in for providers unless a test configures one."""
    settings.DEMO_GATEWAYS_ENABLED = True
    settings.CHANNEL_GATEWAYS = {
        "sms": CONSOLE,
        "email": CONSOLE,
        "chat": "channels_app.chat.gateway.ChatGateway",
    }
    settings.SEND_RATE_LIMIT_BACKEND = "redis"


@pytest.fixture(autouse=True)
def _default_language():
    """A page fetched in Persian leaves Persian active in the test's thread (LocaleMiddleware
    activates a language per request and nothing deactivates it), so the next test's services
    would write Persian: every test ends back in the default language."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _in_memory_channel_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def agent(db):
    return UserFactory(username="agent", role=Role.AGENT)


@pytest.fixture
def manager(db):
    return UserFactory(username="manager", role=Role.MANAGER)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client
