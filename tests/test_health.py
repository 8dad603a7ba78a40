"""Liveness and readiness: /readyz names the dependency that is down."""

from __future__ import annotations

import socket

import pytest

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # released on close: nothing listens there


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_ok_when_database_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_503_names_redis_when_it_is_down(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")
    assert "redis" in response.content.decode()


def test_readyz_reuses_one_redis_connection(client):
    import redis
    from django.conf import settings

    admin = redis.Redis.from_url(settings.REDIS_URL)
    client.get("/readyz")
    before = admin.info("stats")["total_connections_received"]
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    opened = admin.info("stats")["total_connections_received"] - before
    assert opened < 10  # not one per probe (20); other clients of the server may connect meanwhile
