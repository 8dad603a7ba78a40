"""Sign-in throttling: too many failed sign-ins for one username from one address, or from one
address for any usernames, and sign-ins from there are refused for the rest of a 15-minute window.

Counted per username *and address*, not per username alone: otherwise anyone could lock an agent
out of the desk in the middle of a crisis by typing wrong passwords for their name. A guesser on
many addresses is slowed per address; strong passwords (Django's validators) do the rest.

One mechanism for every door: the authentication backend (the sign-in page, the admin and the API
token endpoint all call `authenticate`) counts each attempt *before* it checks the password, and
refuses an attempt over the limit; so requests sent in parallel cannot all slip in before their
failures are counted. A correct password clears that username's count there and gives the
address its attempt back. The sign-in page and the token endpoint ask `retry_after()` first, so a
person is told to wait (429, with Retry-After) instead of being shown "wrong password".

Counts live in Django's cache: set `CACHE_URL` to Redis when several processes serve the desk, or
each process counts on its own. A cache outage lets sign-ins through (logged): agents must be able
to work during a crisis, and the passwords are still checked.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest

from helpdesk.net import client_address, counting_key
from helpdesk.windowcount import WindowCounter

logger = logging.getLogger(__name__)

FAILURES_PER_USERNAME = 10  # from one address
# Higher: a call centre's agents may share one public address.
FAILURES_PER_ADDRESS = 50
WINDOW_SECONDS = 15 * 60


def _digest(value: str) -> str:
    # Usernames may hold any character; cache keys may not.
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _counters(username: str, address: str) -> list[WindowCounter]:
    """The (username, address) pair's count first, then the address's."""
    address = counting_key(address)
    pair = _digest(username.strip().lower() + "\n" + address)
    return [
        WindowCounter("tourniquet:signin:user:" + pair, FAILURES_PER_USERNAME, WINDOW_SECONDS),
        WindowCounter("tourniquet:signin:addr:" + _digest(address), FAILURES_PER_ADDRESS, WINDOW_SECONDS),
    ]


def retry_after(username: str, request: HttpRequest | None) -> int:
    """Seconds until this username may try again from this client; 0 when it may now."""
    now = time.time()
    try:
        return max(c.retry_after(now) for c in _counters(username, client_address(request)))
    except Exception:  # noqa: BLE001 - the cache is down: let the password decide
        logger.warning("sign-in throttle unavailable; not limiting", exc_info=True)
        return 0


def attempt(username: str, request: HttpRequest | None) -> bool:
    """Count one sign-in attempt; False when it is over a limit (refuse it unchecked)."""
    now = time.time()
    try:
        return all(c.allow(now) for c in _counters(username, client_address(request)))
    except Exception:  # noqa: BLE001 - see retry_after
        logger.warning("sign-in attempt not counted", exc_info=True)
        return True


def succeeded(username: str, request: HttpRequest | None) -> None:
    """A correct password: this username starts afresh there, and the address gets its attempt
    back (an office full of agents signing in is not an attack)."""
    try:
        pair, address = _counters(username, client_address(request))
        pair.clear()
        address.give_back()
    except Exception:  # noqa: BLE001 - see retry_after
        logger.warning("sign-in throttle not cleared", exc_info=True)


def _username(username: str | None, credentials: dict) -> str | None:
    # As ModelBackend: the username may come under the user model's own field name.
    from django.contrib.auth import get_user_model

    return username if username is not None else credentials.get(get_user_model().USERNAME_FIELD)


class ThrottledModelBackend(ModelBackend):
    """Django's backend, counting every attempt first and refusing (without checking the
    password) those over the limit."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = _username(username, kwargs)
        if username is None:
            return None
        if not attempt(username, request):
            # PermissionDenied stops authenticate(): no other backend is asked, and the failure
            # is signalled (user_login_failed) as usual.
            raise PermissionDenied("too many failed sign-ins")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            succeeded(username, request)
        return user

    def get_user(self, user_id):
        # The profile (role, time zone, digits, calendar) is read on every staff request
        # (helpdesk.middleware.AgentLocalFormatMiddleware): fetched with the user, in one query.
        UserModel = get_user_model()
        try:
            user = UserModel._default_manager.select_related("profile").get(pk=user_id)
        except UserModel.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    async def aget_user(self, user_id):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.get_user)(user_id)

    async def aauthenticate(self, request, username=None, password=None, **kwargs):
        from asgiref.sync import sync_to_async

        username = _username(username, kwargs)
        if username is None:
            return None
        if not await sync_to_async(attempt)(username, request):
            raise PermissionDenied("too many failed sign-ins")
        user = await super().aauthenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            await sync_to_async(succeeded)(username, request)
        return user


@receiver(user_logged_in, dispatch_uid="tourniquet-signin-succeeded")
def _clear_on_login(sender, request, user, **kwargs) -> None:
    # Sign-ins that skip the password (e.g. after a password reset) start the username afresh too.
    try:
        _counters(user.get_username(), client_address(request))[0].clear()
    except Exception:  # noqa: BLE001 - see retry_after
        logger.warning("sign-in throttle not cleared", exc_info=True)
