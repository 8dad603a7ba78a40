"""Failed sign-ins pause a username (10 in 15 minutes) or an address (50): on the sign-in page,
the admin and the API token endpoint alike; a correct password starts the username afresh."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from helpdesk.accounts import throttle
from tests.api.conftest import error_shape

pytestmark = pytest.mark.django_db

GOOD = "pass-word-123"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def sign_in(client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def fail(client, username: str = "agent", times: int = throttle.FAILURES_PER_USERNAME) -> None:
    for _ in range(times):
        response = sign_in(client, username, "wrong")
        assert response.status_code == 200  # the form again, "wrong password"


def test_after_ten_failures_even_the_right_password_waits(client, agent):
    fail(client)
    response = sign_in(client, "agent", GOOD)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= throttle.WINDOW_SECONDS
    assert "Too many failed sign-ins. Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_pause_ends_with_the_window(client, agent, monkeypatch):
    clock = {"now": 1_900_000_000.0}
    monkeypatch.setattr(throttle.time, "time", lambda: clock["now"])
    fail(client)
    clock["now"] += throttle.WINDOW_SECONDS - 5
    assert int(sign_in(client, "agent", GOOD)["Retry-After"]) == 5
    clock["now"] += 6  # the window is over (whether or not the cache has dropped the keys yet)
    assert sign_in(client, "agent", GOOD).status_code == 302


def test_a_correct_password_starts_the_username_afresh(client, agent):
    fail(client, times=throttle.FAILURES_PER_USERNAME - 1)
    assert sign_in(client, "agent", GOOD).status_code == 302
    client.logout()
    fail(client, times=throttle.FAILURES_PER_USERNAME - 1)
    assert sign_in(client, "agent", GOOD).status_code == 302


def test_the_username_count_ignores_case_and_other_users_are_not_paused(client, agent):
    from tests.factories import UserFactory

    UserFactory(username="colleague")
    fail(client, "AGENT")
    assert sign_in(client, "agent", GOOD).status_code == 429
    assert sign_in(client, "colleague", GOOD).status_code == 302


def test_one_address_trying_many_usernames_is_paused(client, agent):
    for i in range(throttle.FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{i}", "wrong")
    assert sign_in(client, "agent", GOOD).status_code == 429
    other_address = client.post(
        "/accounts/login/", {"username": "agent", "password": GOOD}, REMOTE_ADDR="203.0.113.9"
    )
    assert other_address.status_code == 302


def test_the_token_endpoint_counts_and_pauses_too(agent):
    api = APIClient()
    for _ in range(throttle.FAILURES_PER_USERNAME):
        assert api.post("/api/v1/auth/token/", {"username": "agent", "password": "x"}).status_code == 401
    response = api.post("/api/v1/auth/token/", {"username": "agent", "password": GOOD}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert error_shape(response)["code"] == "throttled"
    # The sign-in page shares the count.
    assert sign_in(APIClient(), "agent", GOOD).status_code == 429


def test_the_admin_sign_in_is_paused_by_the_backend(client, manager):
    manager.is_superuser = True
    manager.save()
    fail(client, "manager")
    client.post("/admin/login/", {"username": "manager", "password": GOOD})
    assert "_auth_user_id" not in client.session


def test_a_cache_outage_lets_people_sign_in(client, agent, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "add", down)
    assert sign_in(client, "agent", "wrong").status_code == 200
    assert sign_in(client, "agent", GOOD).status_code == 302


def test_the_same_username_from_another_address_is_not_paused(client, agent):
    """Typing wrong passwords for an agent's name must not lock the agent out from their desk."""
    fail(client)  # the attacker, at 127.0.0.1
    assert sign_in(client, "agent", GOOD).status_code == 429
    from django.test import Client

    at_work = Client(REMOTE_ADDR="198.51.100.20")
    assert sign_in(at_work, "agent", GOOD).status_code == 302


def test_behind_the_proxy_the_address_it_appended_is_the_one_counted(agent, settings):
    from django.test import Client

    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    # Same proxy address; the client may forge earlier X-Forwarded-For entries, not the last one.
    attacker = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5")
    fail(attacker)
    assert sign_in(attacker, "agent", GOOD).status_code == 429
    forged = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20, 203.0.113.5")
    assert sign_in(forged, "agent", GOOD).status_code == 429
    colleague = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.20")
    assert sign_in(colleague, "agent", GOOD).status_code == 302


def test_forwarded_headers_are_believed_only_from_the_proxy(rf, settings):
    from helpdesk.net import client_address

    via_proxy = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.1")
    direct = rf.get("/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1")
    settings.TRUSTED_PROXIES = ["10.0.0.0/30"]
    settings.BEHIND_PROXY = False
    assert client_address(via_proxy) == "10.0.0.2"
    settings.BEHIND_PROXY = True
    assert client_address(via_proxy) == "192.0.2.1"
    assert client_address(direct) == "203.0.113.5"
    assert client_address(rf.get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"


def test_a_direct_request_cannot_choose_its_address_with_forwarded_headers(agent, settings):
    """DJANGO_BEHIND_PROXY believes X-Forwarded-For only from the proxy itself: a client reaching
    the server directly (a public address) cannot claim a new address for each guess."""
    from django.test import Client

    settings.BEHIND_PROXY = True
    for i in range(throttle.FAILURES_PER_USERNAME):
        direct = Client(REMOTE_ADDR="203.0.113.77", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        sign_in(direct, "agent", "wrong")
    assert sign_in(Client(REMOTE_ADDR="203.0.113.77"), "agent", GOOD).status_code == 429


def test_a_private_network_client_that_is_not_the_named_proxy_cannot_pick_its_address(agent, settings):
    """Trusted proxies are only those named: another host on the private network (a compromised
    laptop on the office LAN) is a client like any other."""
    from django.test import Client

    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    for i in range(throttle.FAILURES_PER_USERNAME):
        neighbour = Client(REMOTE_ADDR="10.0.0.77", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        sign_in(neighbour, "agent", "wrong")
    assert sign_in(Client(REMOTE_ADDR="10.0.0.77"), "agent", GOOD).status_code == 429


def test_an_ipv6_client_is_counted_by_its_64(agent):
    from django.test import Client

    for i in range(throttle.FAILURES_PER_USERNAME):
        sign_in(Client(REMOTE_ADDR=f"2001:db8:1:2::{i + 1:x}"), "agent", "wrong")
    assert sign_in(Client(REMOTE_ADDR="2001:db8:1:2:ffff::1"), "agent", GOOD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="2001:db8:1:3::1"), "agent", GOOD).status_code == 302


def test_the_username_is_checked_as_authenticate_sees_it(client, agent):
    """Django normalizes usernames (NFKC): full-width letters are the same account."""
    fail(client)
    response = sign_in(client, "\uff41\uff47\uff45\uff4e\uff54", GOOD)  # "agent", full width
    assert response.status_code == 429


def test_the_async_sign_in_path_is_paused_too(agent, rf):
    from asgiref.sync import async_to_sync
    from django.contrib.auth import aauthenticate

    request = rf.post("/accounts/login/", REMOTE_ADDR="127.0.0.1")
    for _ in range(throttle.FAILURES_PER_USERNAME):
        assert async_to_sync(aauthenticate)(request, username="agent", password="wrong") is None
    assert throttle.retry_after("agent", request) > 0
    assert async_to_sync(aauthenticate)(request, username="agent", password=GOOD) is None


def test_parallel_guesses_cannot_outrun_the_count(agent, rf, monkeypatch):
    """Every attempt is counted before its password is checked: 30 guesses released at once get at
    most 10 password checks, however slow each check is."""
    import threading

    from django.contrib.auth import authenticate
    from django.contrib.auth.backends import ModelBackend

    checks = []

    def slow_wrong_password(self, request, username=None, password=None, **kwargs):
        checks.append(username)
        threading.Event().wait(0.05)
        return None

    monkeypatch.setattr(ModelBackend, "authenticate", slow_wrong_password)
    start = threading.Barrier(30)

    def guess():
        start.wait()
        authenticate(rf.post("/accounts/login/", REMOTE_ADDR="192.0.2.44"), username="agent", password="x")

    threads = [threading.Thread(target=guess) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checks) == throttle.FAILURES_PER_USERNAME


def test_successful_sign_ins_do_not_use_up_the_address(client, agent):
    """An office of agents behind one address: 60 correct sign-ins are not 60 failures."""
    for _ in range(throttle.FAILURES_PER_ADDRESS + 10):
        assert sign_in(client, "agent", GOOD).status_code == 302
        client.logout()
    fail(client, times=throttle.FAILURES_PER_USERNAME - 1)
    assert sign_in(client, "agent", GOOD).status_code == 302
