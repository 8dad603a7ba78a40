"""Visitor tokens: a signed (widget, visitor) pair the widget keeps in the visitor's browser.

Whoever holds the token is that visitor, and only in that widget's conversation: the token names
nothing else, and the server never takes a visitor id from the client without its signature.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core import signing

SALT = "tourniquet.chat.visitor"
MAX_AGE_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Visitor:
    widget_key: str
    visitor_id: str  # the chat contact point's value


def new_visitor(widget_key: str) -> Visitor:
    return Visitor(widget_key, "v" + secrets.token_urlsafe(16))


def issue(visitor: Visitor) -> str:
    return signing.dumps({"w": visitor.widget_key, "v": visitor.visitor_id}, salt=SALT)


def read(token: str) -> Visitor | None:
    """The visitor a token names, or None (forged, altered, expired, or not a token)."""
    if not token or len(token) > 300:
        return None
    try:
        data = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if not (isinstance(data, dict) and isinstance(data.get("w"), str) and isinstance(data.get("v"), str)):
        return None
    return Visitor(data["w"], data["v"])
