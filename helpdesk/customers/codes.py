"""One-time codes that prove someone holds a phone number or an email address.

A code is six digits, sent to the address by the caller; here it is kept only as an HMAC (with
SECRET_KEY) in Django's cache (Redis in production, shared by every process), for CODE_TTL_SECONDS.
It works once; CODE_MAX_TRIES wrong answers end it (a new code must be asked for), and at most
CODE_SENDS_PER_HOUR codes go to one subject an hour, so a code cannot be guessed nor an address
flooded. Codes typed with Persian, Arabic, Khmer or Kannada digits count (helpdesk.digits).

`subject` says who asks (a chat visitor, a portal sign-in), `purpose` what the proof is for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from helpdesk.digits import to_ascii as ascii_digits
from helpdesk.errors import Refused
from helpdesk.windowcount import WindowCounter

CODE_TTL_SECONDS = 600
CODE_MAX_TRIES = 5
CODE_SENDS_PER_HOUR = 3


class CodeRefused(Refused):
    """Why no code was issued or accepted."""


@dataclass(frozen=True)
class Proven:
    kind: str  # a ContactKind: phone or email
    value: str  # normalized


def _key(purpose: str, subject: str) -> str:
    return "tourniquet:code:" + hashlib.sha256(f"{purpose}\x00{subject}".encode()).hexdigest()[:40]


def _digest(code: str, key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{key}:{code}".encode(), hashlib.sha256).hexdigest()


def issue(*, purpose: str, subject: str, kind: str, value: str) -> str:
    """A new code for this subject to prove `value` (replacing any earlier one); the caller sends it."""
    key = _key(purpose, subject)
    sends = WindowCounter(key + ":sends", CODE_SENDS_PER_HOUR, 3600)
    now = time.time()
    if not sends.allow(now):
        raise CodeRefused(
            "too_many_codes", _("Too many codes asked for; try again later."), sends.retry_after(now)
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    cache.delete(key + ":tries")
    cache.set(key, {"digest": _digest(code, key), "kind": kind, "value": value}, CODE_TTL_SECONDS)
    return code


def check(*, purpose: str, subject: str, code: object) -> Proven:
    """What the right code proves (and the code is used up); CodeRefused otherwise."""
    key = _key(purpose, subject)
    pending = cache.get(key)
    if not pending:
        raise CodeRefused("no_code", _("This code has expired or was used; ask for a new one."))
    typed = ascii_digits(str(code or "")).strip().replace(" ", "")
    if not hmac.compare_digest(_digest(typed, key), pending["digest"]):
        # Counted atomically: racing wrong answers cannot share one try.
        cache.add(key + ":tries", 0, CODE_TTL_SECONDS)
        try:
            tries = cache.incr(key + ":tries")
        except ValueError:  # expired meanwhile
            tries = CODE_MAX_TRIES
        if tries >= CODE_MAX_TRIES:
            cache.delete_many([key, key + ":tries"])
            raise CodeRefused("locked", _("Too many wrong codes; ask for a new one."))
        raise CodeRefused("wrong_code", _("That code is not right."))
    if not cache.delete(key):  # another request used it a moment ago: once only
        raise CodeRefused("no_code", _("This code has expired or was used; ask for a new one."))
    cache.delete(key + ":tries")
    return Proven(kind=pending["kind"], value=pending["value"])
