"""Attachments of inbound mail, for the media proxy: read from the raw message the inbox keeps.

A file is named `inbox:<row id>/<part index>` on the event (payload "media"); nothing else is
fetched, so no URL from a message can make the desk request anything.
"""

from __future__ import annotations

import re

from channels_app.base import ChannelError, Media
from channels_app.email.parse import parse_bytes

_NAME = re.compile(r"^inbox:(\d{1,18})/(\d{1,4})$")


def fetch(url: str) -> Media:
    from helpdesk.messaging.models import InboxMessage

    match = _NAME.match(url or "")
    if not match:
        raise ChannelError("Not an email attachment.", permanent=True, code="not_allowed")
    raw = (
        InboxMessage.objects.filter(pk=int(match.group(1)), channel="email")
        .values_list("raw", flat=True)
        .first()
    )
    if raw is None:
        raise ChannelError("The message is no longer kept.", permanent=True, code="not_allowed")
    parts = list(parse_bytes(bytes(raw)).walk())
    index = int(match.group(2))
    if index >= len(parts) or parts[index].is_multipart():
        raise ChannelError("No such part.", permanent=True, code="not_allowed")
    part = parts[index]
    payload = part.get_payload(decode=True)
    return Media(content_type=part.get_content_type(), body=payload if isinstance(payload, bytes) else b"")
