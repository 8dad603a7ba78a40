"""The visitor's websocket: /ws/chat/?widget=<key>, from a page the widget allows.

The socket opens only for an allowed Origin; its first message must be {"type": "hello", "token"}
with a token of that widget. Then the visitor sends {"type": "message", "client_id", "text"} (each
answered "ack" once stored, or "error"), {"type": "delivered", "ids": [...]} for replies shown,
and receives {"type": "chat.message", ...} for each reply the desk sends.
"""

from __future__ import annotations

import asyncio
import functools
import time
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.db import close_old_connections
from django.utils import timezone

from channels_app.chat import inbound, live, tokens
from channels_app.chat.models import ChatWidget
from helpdesk.tickets.realtime import ticket_group

CLOSED_FORBIDDEN = 4403
CLOSED_NO_HELLO = 4408
HELLO_SECONDS = 30  # generous: in a surge the server may take a while to read it
TYPING_EVERY = 2.0  # seconds between two "the visitor is typing" notices
MAX_FRAME = 16_384


class VisitorConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.visitor: tokens.Visitor | None = None
        self.ticket_id: int | None = None
        self.typed_at = 0.0
        self.agent_typing = False
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        key = (query.get("widget") or [""])[0][:24]
        origin = dict(self.scope.get("headers") or []).get(b"origin", b"").decode("latin-1")
        widget = await _widget(key)
        if widget is None or not widget.allows(origin):
            await self.close(code=CLOSED_FORBIDDEN)
            return
        self.widget: ChatWidget = widget
        client = self.scope.get("client") or ("", 0)
        self.ip = client[0] or ""
        await self.accept()
        self.hello_timer = asyncio.get_running_loop().call_later(HELLO_SECONDS, self._no_hello)

    def _no_hello(self) -> None:
        if self.visitor is None:
            asyncio.ensure_future(self.close(code=CLOSED_NO_HELLO))

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        if text_data is None or len(text_data) > MAX_FRAME:
            await self.send_json({"type": "error", "error": "too_long"})
            return
        try:
            await super().receive(text_data=text_data, **kwargs)
        except ValueError:  # not JSON
            await self.send_json({"type": "error", "error": "invalid"})

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "error": "invalid"})
            return
        kind = content.get("type")
        if self.visitor is None:
            visitor = tokens.read(str(content.get("token", ""))) if kind == "hello" else None
            if visitor is None or visitor.widget_key != self.widget.key:
                await self.close(code=CLOSED_FORBIDDEN)
                return
            self.visitor = visitor
            self.hello_timer.cancel()
            await self.channel_layer.group_add(live.visitor_group(visitor.visitor_id), self.channel_name)
            await self._follow_ticket()
            await self.send_json({"type": "ready"})
            return
        if kind == "message":
            await self._message(content)
        elif kind == "typing":
            await self._typing()
        elif kind == "delivered":
            await self.send_json(
                {"type": "delivered", "ids": await _delivered(self.visitor, content.get("ids"))}
            )

    async def _message(self, content: dict) -> None:
        client_id = content.get("client_id")
        try:
            accepted = await _accept(
                self.visitor, self.widget, client_id=client_id, text=content.get("text"), ip=self.ip,
                language=str(content.get("language", "")), name=str(content.get("name", "")),
            )  # fmt: skip
        except inbound.ChatRefused as refused:
            await self.send_json(
                {"type": "error", "client_id": client_id, "error": refused.code, "message": refused.message,
                 "retry_after": refused.retry_after}
            )  # fmt: skip
            return
        await self.send_json({"type": "ack", "client_id": client_id})
        if self.ticket_id is None:
            await self._follow_ticket()  # the first message opens the ticket (once the drain ran)
        if self.ticket_id is not None and accepted.stored and self.visitor is not None:
            # Stored in the inbox (committed): the drain will record it. Agents on the ticket see
            # it now, marked arriving, and the recorded event takes its place (workspace.js).
            await self.channel_layer.group_send(
                ticket_group(self.ticket_id),
                {"type": "visitor.message", "ticket_id": self.ticket_id,
                 "text": accepted.text,
                 "arrival": f"{self.visitor.visitor_id}:{client_id}", "at": timezone.now().isoformat()},
            )  # fmt: skip

    async def _follow_ticket(self) -> None:
        """Join the group of the visitor's open ticket: agents' typing reaches the widget from it."""
        ticket_id = await _open_ticket(self.visitor)
        if ticket_id == self.ticket_id:
            return
        if self.ticket_id is not None:
            await self.channel_layer.group_discard(ticket_group(self.ticket_id), self.channel_name)
        self.ticket_id = ticket_id
        if ticket_id is not None:
            await self.channel_layer.group_add(ticket_group(ticket_id), self.channel_name)

    async def _typing(self) -> None:
        now = time.monotonic()
        if now - self.typed_at < TYPING_EVERY:
            return
        self.typed_at = now
        if self.ticket_id is None:
            await self._follow_ticket()
        if self.ticket_id is not None:
            await self.channel_layer.group_send(
                ticket_group(self.ticket_id), {"type": "visitor.typing", "ticket_id": self.ticket_id}
            )

    # From the ticket's group: what the visitor may know of it, and nothing more (no names).
    async def presence(self, event) -> None:
        replying = any(agent.get("state") == "replying" for agent in event.get("agents", []))
        if replying != self.agent_typing:
            self.agent_typing = replying
            await self.send_json({"type": "typing", "from": "agent", "active": replying})

    async def ticket_changed(self, event) -> None:
        pass  # the desk's replies come as chat.message; other changes are the agents' business

    async def visitor_typing(self, event) -> None:
        pass  # its own, echoed by the group

    async def visitor_message(self, event) -> None:
        pass  # its own line, for the agents

    async def chat_message(self, event) -> None:
        await self.send_json({k: v for k, v in event.items() if k != "type"} | {"type": "message"})
        if self.ticket_id is None:
            await self._follow_ticket()  # an agent answered: the ticket is open by now

    async def disconnect(self, code) -> None:
        timer = getattr(self, "hello_timer", None)
        if timer is not None:
            timer.cancel()
        ticket_id = getattr(self, "ticket_id", None)
        if ticket_id is not None:
            await self.channel_layer.group_discard(ticket_group(ticket_id), self.channel_name)
        visitor = getattr(self, "visitor", None)
        if visitor is not None:
            await self.channel_layer.group_discard(live.visitor_group(visitor.visitor_id), self.channel_name)


def _in_db(work):
    """Run `work` in a worker thread of the pool, not in Channels' one database thread
    (database_sync_to_async is thread-sensitive: every socket's INSERT then waited in one line,
    and a thousand widgets saw seconds per ack, bench.chat_load). Each call is independent;
    connections are dropped when too old, as around a request."""

    @functools.wraps(work)
    def run(*args, **kwargs):
        close_old_connections()
        try:
            return work(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


_widgets: dict[str, tuple[float, ChatWidget | None]] = {}
WIDGET_CACHE_SECONDS = 10.0


async def _widget(key: str) -> ChatWidget | None:
    """The widget by key, from this process's memory for a few seconds: in a surge every socket
    opening asked the database for the same row (an edit of its origins applies within 10 s)."""
    if not key:
        return None
    now = time.monotonic()
    cached = _widgets.get(key)
    if cached is not None and now - cached[0] < WIDGET_CACHE_SECONDS:
        return cached[1]
    widget = await _load_widget(key)
    if len(_widgets) > 1000:
        _widgets.clear()
    _widgets[key] = (now, widget)
    return widget


@_in_db
def _load_widget(key: str) -> ChatWidget | None:
    return ChatWidget.objects.filter(key=key, is_active=True).select_related("queue").first()


@_in_db
def _open_ticket(visitor) -> int | None:
    from channels_app.chat.selectors import open_ticket_id

    return open_ticket_id(visitor)


@_in_db
def _accept(visitor, widget, **kwargs) -> inbound.Accepted:
    return inbound.accept(visitor, widget, **kwargs)


@_in_db
def _delivered(visitor, ids) -> list[int]:
    return inbound.mark_delivered(visitor, ids)


def application():
    """The ASGI app helpdesk/asgi.py mounts at /ws/chat/ (by dotted path: the core never imports
    an adapter). No session or CSRF: the origin allow-list and the visitor token guard it."""
    return VisitorConsumer.as_asgi()
