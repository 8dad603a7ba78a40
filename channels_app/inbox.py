"""The inbound inbox: the fast half of every webhook.

`accept()` stores the parsed message with one INSERT … ON CONFLICT DO NOTHING (a provider's
retry inserts nothing) and wakes the drain; `drain()` runs in a worker, claims what arrived a batch
at a time and takes each message through the one inbound path, `tickets.services.record_inbound`.

The wake-up is coalesced: a webhook sets one Redis flag (SET NX) and publishes a drain task only
when no drain is pending already. A drain clears the flag before it claims, so a message committed
before the flag was seen set is always claimed by that pending drain. In a surge a webhook
therefore costs one INSERT and one SET, and the broker sees one task per batch instead of one per
message, whatever routing, threading and triage cost later. Rows whose wake-up or worker was lost
are picked up by the sweep.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.base import InboundMessage
from channels_app.groupcommit import GroupCommit
from channels_app.models import InboxMessage
from helpdesk import redis_client

logger = logging.getLogger(__name__)

# A row still unprocessed after this long lost its task (broker down, worker killed): sweep it.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 500
# Rows one drain task claims; a full claim hands the next batch to another worker first.
DRAIN_BATCH = 50
WAKE_KEY = "tourniquet:inbox:wake"
# A flag whose drain task was lost stops coalescing after this long (the sweep covers the rows).
WAKE_TTL_SECONDS = 10

_INSERT = (
    "INSERT INTO channels_app_inboxmessage (provider, provider_id, channel, message, received_at, error) "
    "VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id"
)


_FIELDS = dataclasses.fields(InboundMessage)
_FIELD_NAMES = frozenset(f.name for f in _FIELDS)


_INSERT_MANY = (
    "INSERT INTO channels_app_inboxmessage (provider, provider_id, channel, message, received_at, error) "
    "VALUES %s ON CONFLICT (provider, provider_id) DO NOTHING RETURNING provider, provider_id"
)
_ROW = "(%s, %s, %s, %s, %s, '')"


def _to_json(message: InboundMessage) -> str:
    # Shallow: the fields are strings, a list of strings and a flat dict (asdict deep-copies them).
    data = {f.name: getattr(message, f.name) for f in _FIELDS}
    data["received_at"] = message.received_at.isoformat() if message.received_at else None
    return json.dumps(data, ensure_ascii=False)


def _from_json(data: dict) -> InboundMessage:
    values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
    if values.get("received_at"):
        values["received_at"] = datetime.fromisoformat(values["received_at"])
    return InboundMessage(**values)


def _insert(values: list) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, values)
        return cursor.fetchone()


def _retrying_dropped_connection(write: Callable[[], Any]) -> Any:
    """Run `write` in autocommit; on a connection the server dropped (restart, idle timeout), or a
    statement the server rolled back, reconnect and try once more. ON CONFLICT makes the retry safe
    even if the first one committed."""
    try:
        return write()
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        logger.warning("inbox INSERT failed; reconnecting and trying once more", exc_info=True)
        connection.close()
        return write()


def _insert_many(rows: list[list]) -> set[Hashable]:
    """One statement and one commit for a batch of rows (the group-commit leader's write)."""
    from psycopg2.extras import execute_values

    # In key order: two processes' batches holding one MessageSid each (a provider's retry racing its
    # original) then wait on each other in the same order, never in a cycle (a deadlock costs 1 s).
    rows = sorted(rows, key=lambda row: (row[0], row[1]))

    def write() -> set[Hashable]:
        with connection.cursor() as cursor, connection.wrap_database_errors:
            # psycopg2's own cursor: execute_values expands VALUES %s into one multi-row statement
            # (its errors wrapped into Django's, as the cursor wrapper would).
            found = execute_values(
                cursor.cursor, _INSERT_MANY, rows, template=_ROW, page_size=len(rows), fetch=True
            )
            return {(provider, provider_id) for provider, provider_id in found}

    return _retrying_dropped_connection(write)


# Concurrent webhooks of this process share statements and commits (channels_app/groupcommit.py).
# The leader wakes the drain once per batch, after releasing its callers (rows committed already).
_group = GroupCommit(_insert_many, after_write=lambda: wake())


def accept(message: InboundMessage) -> bool:
    """Store the message once and wake a worker; False when it was already here."""
    if not (message.provider and message.provider_id):
        raise ValueError("the inbox needs the provider's message id")
    message = dataclasses.replace(message, received_at=message.received_at or timezone.now())
    values = [message.provider, message.provider_id, message.channel, _to_json(message), message.received_at]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Autocommit, as in a webhook: join the process's group commit (wakes the drain itself).
        return _group.store(values, (message.provider, message.provider_id))
    # Inside a transaction (or SQLite): this connection's own INSERT, committed with the caller's work.
    if _retrying_dropped_connection(lambda: _insert(values)) is None:
        return False
    if _eager():
        wake()  # the drain runs here, on this connection: it sees the row before any commit
    else:
        # A worker must find the row: wake it after the commit.
        transaction.on_commit(wake)
    return True


def _eager() -> bool:
    from channels_app import tasks

    return bool(tasks.drain_inbox.app.conf.task_always_eager)


def wake() -> None:
    """Make sure a drain runs after what was just committed: publish one unless one is pending."""
    from channels_app import tasks

    try:
        if _eager() or redis_client.get().set(WAKE_KEY, "1", nx=True, ex=WAKE_TTL_SECONDS):
            tasks.drain_inbox.delay()
    except Exception:  # noqa: BLE001 - Redis or the broker is down: the row is stored, the sweep records it
        logger.warning("inbox row stored but no drain queued; the sweep will record it", exc_info=True)


_CLAIM = (
    "UPDATE channels_app_inboxmessage SET queued_at = %s WHERE id IN ("
    " SELECT id FROM channels_app_inboxmessage WHERE processed_at IS NULL AND queued_at IS NULL"
    " ORDER BY id LIMIT %s{lock}) RETURNING id"
)


def claim(limit: int = DRAIN_BATCH) -> list[int]:
    """Mark up to `limit` waiting rows as taken by this worker; oldest first."""
    with connection.cursor() as cursor:
        # SQLite (the demo) has no row locks and serializes writers anyway.
        lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
        cursor.execute(_CLAIM.format(lock=lock), [timezone.now(), limit])
        return sorted(row[0] for row in cursor.fetchall())


def drain() -> int:
    """Worker side of `wake()`: clear the flag, then record a batch of waiting messages."""
    from channels_app import tasks

    if not _eager():
        # Before claiming: a webhook that finds the flag gone publishes a new drain.
        redis_client.get().delete(WAKE_KEY)
    ids = claim()
    if len(ids) == DRAIN_BATCH:
        # More may be waiting: another worker takes the next batch while this one works.
        tasks.drain_inbox.delay()
    for inbox_id in ids:
        process(inbox_id)
    return len(ids)


def process(inbox_id: int) -> None:
    """Record one inbox row through the one inbound path (idempotent: safe to run twice)."""
    from helpdesk.errors import ApplicationError
    from helpdesk.tickets.services import record_inbound

    row = InboxMessage.objects.filter(pk=inbox_id, processed_at__isnull=True).first()
    if row is None:
        return
    try:
        result = record_inbound(message=_from_json(row.message))
    except ApplicationError as exc:
        # The message cannot be recorded as sent (e.g. an impossible sender): keep it, say why.
        InboxMessage.objects.filter(pk=row.pk).update(processed_at=timezone.now(), error=exc.message[:300])
        logger.warning("inbox %s not recorded: %s", row.pk, exc.message)
        return
    InboxMessage.objects.filter(pk=row.pk).update(processed_at=timezone.now(), event_id=result.event.pk)


def stale_ids(limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of rows whose wake-up was lost, or whose worker died before recording them."""
    cutoff = timezone.now() - SWEEP_AFTER
    unclaimed = Q(queued_at__isnull=True, received_at__lt=cutoff)
    return list(
        InboxMessage.objects.filter(Q(processed_at__isnull=True) & (unclaimed | Q(queued_at__lt=cutoff)))
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
