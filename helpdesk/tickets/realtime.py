"""Live updates: after commit, tell the agents' browsers that a ticket or queue changed."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

from asgiref.sync import async_to_sync
from django.db import transaction

logger = logging.getLogger(__name__)

QUEUE_GROUP = "queue"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def ticket_changed(ticket, *, event=None) -> None:
    """Announce a change to a ticket once the transaction commits."""
    ticket_id_changed(ticket.pk, event_id=event.pk if event is not None else None)


def ticket_id_changed(ticket_id: int, *, event_id: int | None = None) -> None:
    transaction.on_commit(lambda: _send(ticket_id, event_id))


def _send(ticket_id: int, event_id: int | None) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "ticket.changed", "ticket_id": ticket_id, "event_id": event_id}

    async def publish() -> None:
        await layer.group_send(ticket_group(ticket_id), message)
        await layer.group_send(QUEUE_GROUP, message)

    try:
        if layer.__class__.__name__ == "RedisChannelLayer":
            # One long-lived loop per process: the Redis layer keeps a connection pool per event
            # loop, so async_to_sync (a new loop each call) paid a new connection every time (~6 ms).
            asyncio.run_coroutine_threadsafe(publish(), _background_loop()).result(timeout=SEND_TIMEOUT)
        else:
            async_to_sync(publish)()
    except Exception:  # noqa: BLE001 - a realtime hiccup must never fail the action that caused it
        logger.warning("realtime notification for ticket %s failed", ticket_id, exc_info=True)


SEND_TIMEOUT = 2.0
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    """This process's notification loop, started on first use (and again after a fork)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="realtime-notify", daemon=True).start()
        return _loop
