"""API clients: a staff agent (session), a staff agent (token), a non-staff user, nobody."""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.fixture
def api(agent) -> APIClient:
    """A staff agent's client, authenticated by session like the workspace pages."""
    client = APIClient()
    client.force_login(agent)
    return client


@pytest.fixture
def token_api(agent) -> APIClient:
    """A staff agent's client, authenticated by the Authorization: Token header only."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=agent)[1]}")
    return client


@pytest.fixture
def non_staff_api(db) -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="someone", is_staff=False))
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


def error_shape(response) -> dict:
    """Assert the stable error shape and return it."""
    body = response.json()
    assert set(body) == {"message", "code", "fields"}, body
    assert isinstance(body["message"], str) and body["message"]
    return body
