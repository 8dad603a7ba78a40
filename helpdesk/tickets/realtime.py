"""Live updates: after commit, tell the agents' browsers that a ticket or queue changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

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
    """Announce a change to the ticket with this id once the transaction commits."""
    transaction.on_commit(lambda: _announce(ticket_id, event_id))


# Notices held back by `coalesced()` in this thread: ticket id -> latest event id.
_held = threading.local()


@contextlib.contextmanager
def coalesced() -> Iterator[None]:
    """Hold back the notices committed inside the block and send one per ticket at its end, all
    in one round of Redis calls: an SMS answer announced its ticket twice (the inbound event, the
    next question), each two group sends that waited on Redis, per message of a drain batch."""
    if getattr(_held, "notices", None) is not None:
        yield  # nested: the outer block sends
        return
    _held.notices = {}
    try:
        yield
    finally:
        notices, _held.notices = _held.notices, None
        if notices:
            _send_many(list(notices.items()))


def _announce(ticket_id: int, event_id: int | None) -> None:
    notices = getattr(_held, "notices", None)
    if notices is None:
        _send_many([(ticket_id, event_id)])
    elif event_id is not None or ticket_id not in notices:
        notices[ticket_id] = event_id  # browsers refetch the ticket; the latest event id is enough


def _send_many(notices: list[tuple[int, int | None]]) -> None:
    """Each ticket's followers hear of their ticket; the queue's hear once of them all
    (queue.changed): every workspace socket is on the queue, and one notice per message to each
    made the websocket server's own work grow with agents × messages (bench.chat_load)."""
    sends: list[tuple[str, dict]] = [
        (ticket_group(ticket_id), {"type": "ticket.changed", "ticket_id": ticket_id, "event_id": event_id})
        for ticket_id, event_id in notices
    ]
    sends.append((QUEUE_GROUP, {"type": "queue.changed", "ticket_ids": [t for t, _e in notices]}))
    send_to_groups(sends, what=f"tickets {[t for t, _e in notices]}")


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def session_group(session_key: str) -> str:
    return f"session.{session_key}"


def close_sockets(*, user_id: int | None = None, session_key: str = "") -> None:
    """Close the workspace sockets of a user (password changed, deactivated) or of one session
    (signed out): a socket must not outlive the credentials that opened it."""
    message = {"type": "sockets.close"}
    groups = ([user_group(user_id)] if user_id else []) + (
        [session_group(session_key)] if session_key else []
    )
    send_to_groups([(group, message) for group in groups], what=f"closing sockets {groups}")


def send_to_groups(sends: list[tuple[str, dict]], *, what: str) -> None:
    """Send each message to its group on the channel layer; a failure is logged, never raised."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None or not sends:
        return

    async def publish() -> None:
        # A few at a time: each send in flight holds one of the layer's Redis connections.
        slots = asyncio.Semaphore(SENDS_IN_FLIGHT)

        async def send(group: str, message: dict) -> None:
            async with slots:
                await layer.group_send(group, message)

        await asyncio.gather(*(send(group, message) for group, message in sends))

    try:
        if layer.__class__.__name__ == "RedisChannelLayer":
            # One long-lived loop per process: the Redis layer keeps a connection pool per event
            # loop, so async_to_sync (a new loop each call) paid a new connection every time (~6 ms).
            asyncio.run_coroutine_threadsafe(publish(), _background_loop()).result(timeout=SEND_TIMEOUT)
        else:
            run_sync(publish)
    except Exception:  # noqa: BLE001 - a realtime hiccup must never fail the action that caused it
        logger.warning("realtime notification failed: %s", what, exc_info=True)


def run_sync(coroutine_function, timeout: float | None = None) -> None:
    """async_to_sync, also from a thread where an event loop is already running (asgiref refuses
    that; the session's Playwright keeps one running in the tests' main thread): then in a
    thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(coroutine_function)()
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(coroutine_function)).result(timeout=timeout or SEND_TIMEOUT)


SEND_TIMEOUT = 2.0
SENDS_IN_FLIGHT = 8
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
