"""API tokens and workspace sockets end with the credentials that made them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from helpdesk.tickets.consumers import CLOSED_REVOKED, MAX_SUBSCRIPTIONS, WorkspaceConsumer
from tests import asyncrun

pytestmark = pytest.mark.django_db


def _sign_in(username: str = "agent", password: str = "pass-word-123") -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200
    return response.json()["token"]


def _status(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/tickets/").status_code


def test_each_sign_in_gets_a_new_token_stored_only_as_a_hash(agent):
    first, second = _sign_in(), _sign_in()
    assert first != second and _status(first) == _status(second) == 200
    stored = list(AuthToken.objects.filter(user=agent).values_list("digest", "token_key"))
    assert len(stored) == 2
    assert all(first not in (digest, key) and second not in (digest, key) for digest, key in stored)


def test_a_password_change_makes_the_old_token_401(agent, django_capture_on_commit_callbacks):
    token = _sign_in()
    assert _status(token) == 200
    with django_capture_on_commit_callbacks(execute=True):
        agent.set_password("a-new-long-password-99")
        agent.save()
    assert _status(token) == 401
    assert _status(_sign_in(password="a-new-long-password-99")) == 200


def test_deactivation_ends_every_token(agent, django_capture_on_commit_callbacks):
    token = _sign_in()
    with django_capture_on_commit_callbacks(execute=True):
        agent.is_active = False
        agent.save()
    assert not AuthToken.objects.filter(user=agent).exists()
    assert _status(token) == 401


def test_an_unused_token_expires(agent, settings):
    token = _sign_in()
    AuthToken.objects.filter(user=agent).update(expiry=timezone.now() - timedelta(seconds=1))
    assert _status(token) == 401


def test_a_sign_in_that_only_updates_last_login_keeps_the_tokens(agent):
    token = _sign_in()
    _sign_in()  # updates last_login (update_fields) on the same user
    assert _status(token) == 200


async def _connected(user, session_key: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(WorkspaceConsumer.as_asgi(), "/ws/workspace/")
    communicator.scope["user"] = user
    if session_key:
        communicator.scope["session"] = await sync_to_async(SessionStore)(session_key=session_key)
    connected, _code = await communicator.connect()
    assert connected
    return communicator


@pytest.mark.django_db(transaction=True)  # the scenario may run in a thread of its own
def test_a_password_change_closes_the_users_sockets(agent, django_capture_on_commit_callbacks):
    async def scenario():
        socket = await _connected(agent)

        def change_password():
            with django_capture_on_commit_callbacks(execute=True):
                agent.set_password("a-new-long-password-99")
                agent.save()

        await sync_to_async(change_password)()
        closed = await socket.receive_output(timeout=2)
        assert closed == {"type": "websocket.close", "code": CLOSED_REVOKED}

    asyncrun.run(scenario)


@pytest.mark.django_db(transaction=True)  # the scenario may run in a thread of its own
def test_signing_out_closes_that_sessions_sockets_only(agent, client):
    client.force_login(agent)
    key = client.session.session_key
    other = SessionStore()
    other.create()

    async def scenario():
        mine = await _connected(agent, key)
        elsewhere = await _connected(agent, other.session_key)
        await sync_to_async(client.post)("/accounts/logout/")
        assert await mine.receive_output(timeout=2) == {"type": "websocket.close", "code": CLOSED_REVOKED}
        assert await elsewhere.receive_nothing(timeout=0.3)
        await elsewhere.disconnect()

    asyncrun.run(scenario)


@pytest.mark.django_db(transaction=True)  # the consumer's database_sync_to_async closes connections
def test_a_socket_follows_a_bounded_number_of_tickets(agent):
    from tests.factories import TicketFactory

    ids = [TicketFactory().pk for _ in range(MAX_SUBSCRIPTIONS + 1)]

    async def scenario():
        socket = await _connected(agent)
        for ticket_id in ids[:-1]:
            await socket.send_json_to({"subscribe_ticket": ticket_id})
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_json_to({"subscribe_ticket": ids[-1]})
        assert await socket.receive_json_from(timeout=2) == {
            "type": "error",
            "error": "too_many_subscriptions",
        }
        await socket.disconnect()

    asyncrun.run(scenario)
