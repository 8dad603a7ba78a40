"""A visitor's message in: checked, limited, then stored in the inbox like every channel's.

The websocket and the long-polling fallback both call `accept`; the inbox drain records it
(`record_inbound`) into the visitor's open ticket. The client's own message id makes a resent
message (a reconnect, a second tab) the same message: stored and shown once.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from channels_app.base import InboundMessage
from channels_app.chat.models import ChatWidget
from channels_app.chat.tokens import Visitor
from helpdesk.errors import Refused
from helpdesk.messaging import inbox
from helpdesk.windowcount import WindowCounter

PROVIDER = "chat"
MAX_TEXT = 4000
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ChatRefused(Refused):
    """Why a visitor's message (or file, code, follow-up) was not taken; the widget shows `message`."""


@dataclass(frozen=True)
class Accepted:
    client_id: str
    stored: bool  # False: this client id was stored before (shown once all the same)
    text: str = ""  # as stored: plain text, cleaned


def limit(key: str, most: int, *, window: int = 60) -> None:
    """Count one for this key; ChatRefused(rate_limited) beyond `most` a window (0: no limit)."""
    if not most:
        return
    counter = WindowCounter("tourniquet:chat:" + hashlib.sha256(key.encode()).hexdigest()[:32], most, window)
    now = time.time()
    if not counter.allow(now):
        raise ChatRefused("rate_limited", _("Too many messages; wait a moment."), counter.retry_after(now))


def clean_text(text: object) -> str:
    """Plain text only: shown as text on both sides, never parsed as HTML."""
    if not isinstance(text, str):
        raise ChatRefused("invalid", _("A message is text."))
    text = text.replace("\x00", "").replace("\r\n", "\n").strip()
    if not text:
        raise ChatRefused("empty", _("Write a message first."))
    if len(text) > MAX_TEXT:
        raise ChatRefused("too_long", _("A message is at most %(n)d characters.") % {"n": MAX_TEXT})
    return text


def accept(
    visitor: Visitor,
    widget: ChatWidget,
    *,
    client_id: object,
    text: object,
    ip: str = "",
    language: str = "",
    name: str = "",
    media: list[str] | None = None,
    media_types: list[str] | None = None,
    media_names: list[str] | None = None,
) -> Accepted:
    """Store one visitor message once; raise ChatRefused with a code the widget shows."""
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise ChatRefused("invalid", _("The message has no valid id."))
    body = clean_text(text)
    limit("visitor:" + visitor.visitor_id, settings.CHAT_MESSAGES_PER_MINUTE)
    if ip:
        limit("ip:" + ip, settings.CHAT_MESSAGES_PER_MINUTE_PER_IP)
    message = InboundMessage(
        channel="chat",
        sender_kind="chat",
        sender=visitor.visitor_id,
        sender_name=name[:100],
        body=body,
        provider=PROVIDER,
        provider_id=f"{visitor.visitor_id}:{client_id}",
        recipient=widget.queue.inbound_address if widget.queue_id and widget.queue else "",
        language=language[:8],
        payload={
            "client_id": client_id,
            "widget": widget.key,
            **({"media_types": media_types, "media_names": media_names} if media else {}),
        },  # fmt: skip
        media=list(media or []),
        sender_proven=True,  # the signed token is the proof: only this visitor holds it
    )
    return Accepted(client_id, inbox.accept(message), body)


def mark_delivered(visitor: Visitor, event_ids: object) -> list[int]:
    """The widget showed these replies: each of the visitor's own becomes delivered. Returns the
    ids now delivered; a reply the outbox has not recorded as sent yet (the push can overtake
    that write) is left out, and the widget says so again a moment later."""
    from channels_app.base import DeliveryReport, DeliveryStatus
    from channels_app.chat.selectors import own_replies
    from helpdesk.messaging.delivery import record_delivery_report

    done = []
    for event_id, provider_id, status in own_replies(
        visitor, event_ids if isinstance(event_ids, list) else []
    ):
        if status != DeliveryStatus.DELIVERED:
            record_delivery_report(
                DeliveryReport(provider=PROVIDER, provider_id=provider_id, status=DeliveryStatus.DELIVERED)
            )
        done.append(event_id)
    return done
