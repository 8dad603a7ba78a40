"""A visitor's file: an image (JPEG, PNG, GIF, WebP) or a PDF, up to CHAT_UPLOAD_MAX_BYTES, known by
its first bytes whatever its name or declared type says; anything else is refused. It becomes a
chat message whose media names it (`chat-upload:<id>`), read back only through the agents' media
proxy (`fetch`), which serves images inline and PDFs as downloads.
"""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.utils.translation import gettext as _

from channels_app.base import ChannelError, Media
from channels_app.chat import inbound
from channels_app.chat.models import ChatUpload, ChatWidget
from channels_app.chat.tokens import Visitor
from helpdesk.tickets.media import sniff_image

_NAME = re.compile(r"^chat-upload:(\d{1,18})$")
UPLOADS_PER_HOUR = 20


def sniff(data: bytes) -> str:
    """The file's real type among those taken, '' for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return sniff_image(data)


def clean_name(name: str) -> str:
    """A file name to show: no path, no control or bidi characters, at most 120 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:120] or "file"


def store(visitor: Visitor, widget: ChatWidget, *, name: str, data: bytes, client_id: object, ip: str,
          language: str = "", visitor_name: str = "") -> inbound.Accepted:  # fmt: skip
    """Keep the file and send it as the visitor's message (ChatRefused: too big, not a taken type)."""
    if len(data) > settings.CHAT_UPLOAD_MAX_BYTES:
        raise inbound.ChatRefused(
            "too_large",
            _("Files up to %(mb)s MB.") % {"mb": settings.CHAT_UPLOAD_MAX_BYTES // 1_000_000},
        )
    kind = sniff(data)
    if not kind:
        raise inbound.ChatRefused("not_allowed_type", _("Send a photo (JPEG, PNG, GIF, WebP) or a PDF."))
    inbound.limit("upload:" + visitor.visitor_id, UPLOADS_PER_HOUR, window=3600)
    shown = clean_name(name)
    upload = ChatUpload.objects.create(
        widget_key=widget.key,
        visitor_id=visitor.visitor_id,
        name=shown,
        content_type=kind,
        size=len(data),
        body=data,
    )
    return inbound.accept(
        visitor, widget, client_id=client_id, text=shown, ip=ip, language=language, name=visitor_name,
        media=[f"chat-upload:{upload.pk}"], media_types=[kind], media_names=[shown],
    )  # fmt: skip


def fetch(url: str) -> Media:
    """The media proxy's reader for chat files (ChannelSpec.media_fetcher)."""
    match = _NAME.match(url or "")
    if not match:
        raise ChannelError("Not a chat upload.", permanent=True, code="not_allowed")
    row = ChatUpload.objects.filter(pk=int(match.group(1))).values_list("content_type", "body").first()
    if row is None:
        raise ChannelError("No such upload.", permanent=True, code="not_allowed")
    return Media(content_type=row[0], body=bytes(row[1]))
