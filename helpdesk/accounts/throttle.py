"""Sign-in throttling: too many failed sign-ins for one username from one address, or from one
address for any usernames, and sign-ins from there are refused for the rest of a 15-minute window.

Counted per username *and address*, not per username alone: otherwise anyone could lock an agent
out of the desk in the middle of a crisis by typing wrong passwords for their name. A guesser on
many addresses is slowed per address; strong passwords (Django's validators) do the rest.

One mechanism for every door: the authentication backend refuses while over a limit (the sign-in
page, the admin and the API token endpoint all call `authenticate`), Django's `user_login_failed`
signal counts each failure, and a successful sign-in clears that username's count there. The
sign-in page and the token endpoint ask `retry_after()` first, so a person is told to wait (429,
with Retry-After) instead of being shown "wrong password".

Counts live in Django's cache: set `CACHE_URL` to Redis when several processes serve the desk, or
each process counts on its own. A cache outage lets sign-ins through (logged): agents must be able
to work during a crisis, and the passwords are still checked.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from helpdesk.net import client_address, counting_key

logger = logging.getLogger(__name__)

FAILURES_PER_USERNAME = 10  # from one address
# Higher: a call centre's agents may share one public address.
FAILURES_PER_ADDRESS = 50
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int

    def retry_after(self, now: float) -> int:
        count = cache.get(self.key + ":n", 0)
        if count < self.limit:
            return 0
        since = cache.get(self.key + ":since", now)
        remaining = since + WINDOW_SECONDS - now  # also right where the cache expires keys late
        return math.ceil(remaining) if remaining > 0 else 0

    def failed(self, now: float) -> None:
        # The window starts at the first failure; both keys expire with it.
        cache.add(self.key + ":since", now, WINDOW_SECONDS)
        cache.add(self.key + ":n", 0, WINDOW_SECONDS)
        try:
            cache.incr(self.key + ":n")
        except ValueError:  # expired between add and incr: a new window
            cache.add(self.key + ":n", 1, WINDOW_SECONDS)

    def clear(self) -> None:
        cache.delete_many([self.key + ":n", self.key + ":since"])


def _digest(value: str) -> str:
    # Usernames may hold any character; cache keys may not.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _counters(username: str, address: str) -> list[_Counter]:
    """The (username, address) pair's count first, then the address's."""
    address = counting_key(address)
    pair = _digest(username.strip().lower() + "\n" + address)
    return [
        _Counter("tourniquet:signin:user:" + pair, FAILURES_PER_USERNAME),
        _Counter("tourniquet:signin:addr:" + _digest(address), FAILURES_PER_ADDRESS),
    ]


def retry_after(username: str, request: HttpRequest | None) -> int:
    """Seconds until this username may try again from this client; 0 when it may now."""
    now = time.time()
    try:
        return max(c.retry_after(now) for c in _counters(username, client_address(request)))
    except Exception:  # noqa: BLE001 - the cache is down: let the password decide
        logger.warning("sign-in throttle unavailable; not limiting", exc_info=True)
        return 0


class ThrottledModelBackend(ModelBackend):
    """Django's backend, refusing (without checking the password) while over the limit."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and retry_after(username, request):
            # PermissionDenied stops authenticate(): no other backend is asked, the failure is
            # signalled (and counted) as usual.
            raise PermissionDenied("too many failed sign-ins")
        return super().authenticate(request, username=username, password=password, **kwargs)

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        from asgiref.sync import sync_to_async

        if username is not None and await sync_to_async(retry_after)(username, request):
            raise PermissionDenied("too many failed sign-ins")
        return await super().aauthenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="tourniquet-signin-failed")
def _count_failure(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username") or ""
    now = time.time()
    try:
        for counter in _counters(username, client_address(request)):
            counter.failed(now)
    except Exception:  # noqa: BLE001 - see retry_after
        logger.warning("sign-in failure not counted", exc_info=True)


def succeeded(username: str, request: HttpRequest | None) -> None:
    """A correct password: this username starts afresh there (the address's count stays)."""
    try:
        _counters(username, client_address(request))[0].clear()
    except Exception:  # noqa: BLE001 - see retry_after
        logger.warning("sign-in throttle not cleared", exc_info=True)


@receiver(user_logged_in, dispatch_uid="tourniquet-signin-succeeded")
def _clear_on_login(sender, request, user, **kwargs) -> None:
    succeeded(user.get_username(), request)
