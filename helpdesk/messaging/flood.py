"""The inbound flood guard: a ticket that receives more than INBOUND_TICKET_LIMIT messages within
INBOUND_TICKET_WINDOW_SECONDS stops answering automatically until the window ends.

Every message is still recorded, threaded and shown to agents (nothing is lost); what stops is
what the desk would send on its own in reply (the HELP answer, the START confirmation, a triage
prompt, later an acknowledgement or a survey). So an auto-responder on the other end, a bot or a
stuck phone cannot make the desk send, and pay for, a message per message without end. STOP
still opts out: consent is never rate-limited. The first message over the limit leaves a system
note on the ticket saying so.

Counts live where the send rate limits do (SEND_RATE_LIMIT_BACKEND): in Redis, one pipelined
round trip per batch of messages, shared by every worker; "local" counts in this process (the
demo runs one).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable

from django.conf import settings

from helpdesk import redis_client

KEY = "tourniquet:inbound:ticket:{}"
_local: dict[int, tuple[float, int]] = {}
_local_lock = threading.Lock()


def limit() -> int:
    """Messages per ticket per window before automatic answers stop (0: no limit)."""
    return settings.INBOUND_TICKET_LIMIT


def window() -> int:
    return settings.INBOUND_TICKET_WINDOW_SECONDS


def count(ticket_ids: Iterable[int]) -> dict[int, int]:
    """Count one inbound message per id (an id may repeat) and return each ticket's count in the
    current window, this batch included."""
    wanted = Counter(ticket_ids)
    if not wanted or not limit():
        return dict.fromkeys(wanted, 0)
    if settings.SEND_RATE_LIMIT_BACKEND == "local":
        return _count_local(wanted)
    pipe = redis_client.get().pipeline(transaction=False)
    for ticket_id, n in wanted.items():
        pipe.incrby(KEY.format(ticket_id), n)
        pipe.expire(KEY.format(ticket_id), window(), nx=True)  # the window starts at the first
    replies = pipe.execute()
    return {ticket_id: int(replies[2 * i]) for i, ticket_id in enumerate(wanted)}


def _count_local(wanted: Counter) -> dict[int, int]:
    now = time.monotonic()
    counts = {}
    with _local_lock:
        for ticket_id, n in wanted.items():
            since, seen = _local.get(ticket_id, (now, 0))
            if now - since >= window():
                since, seen = now, 0
            _local[ticket_id] = (since, seen + n)
            counts[ticket_id] = seen + n
    return counts


def flooded_tickets(ticket_ids: Iterable[int]) -> set[int]:
    """Count these messages (one per id) and return the tickets now over the limit; the first
    message past it leaves the note on its ticket."""
    batch = Counter(ticket_ids)
    counts = count(batch.elements())
    cap = limit()
    over = {ticket_id for ticket_id, n in counts.items() if cap and n > cap}
    for ticket_id in over:
        before = counts[ticket_id] - batch[ticket_id]
        if before <= cap:  # this batch crossed the limit
            _note(ticket_id)
    return over


def reset(ticket_ids: Iterable[int]) -> None:
    """Forget the counts (tests, and an agent who has dealt with the flood)."""
    ids = list(ticket_ids)
    with _local_lock:
        for ticket_id in ids:
            _local.pop(ticket_id, None)
    if settings.SEND_RATE_LIMIT_BACKEND != "local" and ids:
        redis_client.get().delete(*(KEY.format(i) for i in ids))


def reset_all() -> None:
    """Forget every ticket's count (tests: ticket ids repeat from one test database to the next)."""
    with _local_lock:
        _local.clear()
    if settings.SEND_RATE_LIMIT_BACKEND != "local":
        client = redis_client.get()
        keys = list(client.scan_iter(match=KEY.format("*"), count=1000))
        if keys:
            client.delete(*keys)


def _note(ticket_id: int) -> None:
    from django.utils.translation import gettext

    from helpdesk.tickets.models import EventKind, Ticket
    from helpdesk.tickets.services import add_system_event

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return
    minutes = max(1, round(window() / 60))
    add_system_event(
        customer_id=ticket.customer_id,
        ticket=ticket,
        kind=EventKind.NOTE,
        body=gettext(
            "Automatic replies paused on this ticket: more than %(limit)s messages in %(minutes)s "
            "minutes. Every message is kept here; nothing answers them automatically until then."
        )
        % {"limit": limit(), "minutes": minutes},
        payload={"action": "inbound_flood", "limit": limit(), "window_seconds": window()},
    )
