"""The inbound inbox: the fast half of every webhook.

`accept()` stores the parsed message with one INSERT … ON CONFLICT DO NOTHING (a provider's
retry inserts nothing) and wakes the drain; `drain()` runs in a worker, claims what arrived a batch
at a time and takes each message through the one inbound path, `tickets.services.record_inbound`,
then offers it to the inbound handlers (consent, triage) in the same worker. The batch handler
(settings.INBOUND_BATCH_HANDLER) first takes the messages it can handle together, set-based, with
the same outcome: in a surge of triage answers, nearly all of them.

The wake-up is coalesced: a webhook sets one Redis flag (SET NX) and publishes a drain task only
when no drain is pending already. A drain clears the flag before it claims, so a message committed
before the flag was seen set is always claimed by that pending drain. Concurrent webhooks of one
process share one INSERT and one commit (the group commit), and a process that has just seen the
flag set skips Redis for a short window (the drains linger to cover it). In a surge a webhook
therefore costs a share of one statement and rarely a Redis round trip, and the broker sees one
task per batch instead of one per message, whatever routing, threading and triage cost later. Rows
whose wake-up or worker was lost are picked up by the sweep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from channels_app.base import InboundMessage
from helpdesk import redis_client
from helpdesk.bulkwrite import update_each
from helpdesk.messaging.groupcommit import GroupCommit
from helpdesk.messaging.models import InboxMessage

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
    "INSERT INTO messaging_inboxmessage (provider, provider_id, channel, message, received_at, error) "
    "VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id"
)
_INSERT_RAW = (
    "INSERT INTO messaging_inboxmessage "
    "(provider, provider_id, channel, message, received_at, raw, error, note) "
    "VALUES (%s, %s, %s, %s, %s, %s, '', '') ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id"
)


_FIELDS = dataclasses.fields(InboundMessage)
_FIELD_NAMES = frozenset(f.name for f in _FIELDS)


def _to_json(message: InboundMessage, received_at: datetime | None = None) -> str:
    # Shallow: the fields are strings, a list of strings and a flat dict (asdict deep-copies them).
    data = {f.name: getattr(message, f.name) for f in _FIELDS}
    received_at = received_at or message.received_at
    data["received_at"] = received_at.isoformat() if received_at else None
    return json.dumps(data, ensure_ascii=False)


def _from_json(data: dict) -> InboundMessage:
    values = {k: v for k, v in data.items() if k in _FIELD_NAMES}
    if values.get("received_at"):
        values["received_at"] = datetime.fromisoformat(values["received_at"])
    return InboundMessage(**values)


def _insert(values: list, statement: str = _INSERT) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(statement, values)
        return cursor.fetchone()


def _retrying_dropped_connection(write: Callable[[], Any]) -> Any:
    """Run `write` in autocommit; on a connection the server dropped (restart, idle timeout), or a
    statement the server rolled back, reconnect and try once more. ON CONFLICT makes the retry safe
    even if the first one committed; but then the retry reports those rows as already there and
    nobody would wake the drain for them, so a retry always wakes it (a spare wake costs nothing)."""
    try:
        return write()
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        logger.warning("inbox INSERT failed; reconnecting and trying once more", exc_info=True)
        connection.close()
        result = write()
        wake()
        return result


# A batch is five arrays, so one statement text serves every batch size, and each connection
# prepares it once: parsing and planning the INSERT for each batch cost PostgreSQL more CPU than
# storing its rows (bench/README.md). Behind a transaction-pooling PgBouncer, where a session's
# prepared statements may not be there for its next transaction, DATABASE_PREPARED_STATEMENTS=0
# sends the plain statement.
_INSERT_BATCH = (
    "INSERT INTO messaging_inboxmessage (provider, provider_id, channel, message, received_at, error) "
    "SELECT p, i, c, m::jsonb, r, '' FROM unnest({args}) AS batch(p, i, c, m, r) "
    "ON CONFLICT (provider, provider_id) DO NOTHING RETURNING provider, provider_id"
)
_PREPARED = "tourniquet_inbox_insert"
_PREPARE = f"PREPARE {_PREPARED} (text[], text[], text[], text[], timestamptz[]) AS " + _INSERT_BATCH.format(
    args="$1, $2, $3, $4, $5"
)
_EXECUTE = f"EXECUTE {_PREPARED} (%s, %s, %s, %s, %s)"
_INSERT_PLAIN = _INSERT_BATCH.format(args="%s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[]")


def _execute_prepared(raw: Any, columns: list[list]) -> None:
    """EXECUTE the batch INSERT, preparing it first on a connection that has not (autocommit: a
    failed statement leaves the session usable)."""
    from psycopg2 import errors

    if getattr(connection, "_inbox_prepared_on", None) is not connection.connection:
        # A pooler may hand this session over with the statement prepared already.
        with contextlib.suppress(errors.DuplicatePreparedStatement):
            raw.execute(_PREPARE)
        # Prepared once per server session: a reconnect is a new raw connection.
        connection._inbox_prepared_on = connection.connection  # type: ignore[attr-defined]
    try:
        raw.execute(_EXECUTE, columns)
    except errors.InvalidSqlStatementName:
        # The session lost it (DISCARD ALL, or a pooler switched server sessions): this batch goes
        # plain, the next one prepares again.
        logger.warning("prepared inbox INSERT missing on this connection; preparing it again")
        connection._inbox_prepared_on = None  # type: ignore[attr-defined]
        raw.execute(_INSERT_PLAIN, columns)


def _insert_many(rows: list[list]) -> set[Hashable]:
    """One statement and one commit for a batch of rows (the group-commit leader's write)."""
    # In key order: two processes' batches holding one MessageSid each (a provider's retry racing its
    # original) then wait on each other in the same order, never in a cycle (a deadlock costs 1 s).
    rows = sorted(rows, key=lambda row: (row[0], row[1]))
    columns = [list(column) for column in zip(*rows, strict=True)]

    def write() -> set[Hashable]:
        with connection.cursor() as cursor, connection.wrap_database_errors:
            raw = cursor.cursor  # psycopg2's own (errors wrapped into Django's as the wrapper would)
            if not settings.DATABASE_PREPARED_STATEMENTS:
                raw.execute(_INSERT_PLAIN, columns)
            else:
                _execute_prepared(raw, columns)
            return {(provider, provider_id) for provider, provider_id in raw.fetchall()}

    return _retrying_dropped_connection(write)


# Concurrent webhooks of this process share statements and commits (channels_app/groupcommit.py).
# The leader wakes the drain once per batch, after releasing its callers (rows committed already).
_group = GroupCommit(_insert_many, after_write=lambda: wake())


def accept(message: InboundMessage) -> bool:
    """Store the message once and wake a worker; False when it was already here."""
    if not (message.provider and message.provider_id):
        raise ValueError("the inbox needs the provider's message id")
    received_at = message.received_at or timezone.now()
    values: list[Any] = [
        message.provider,
        message.provider_id,
        message.channel,
        _to_json(message, received_at),
        received_at,
    ]
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


_INSERT_RAW_BATCH = (
    "INSERT INTO messaging_inboxmessage "
    "(provider, provider_id, channel, message, received_at, raw, error, note) "
    "SELECT p, i, c, m::jsonb, r, b, '', '' FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
    "%s::timestamptz[], %s::bytea[]) AS batch(p, i, c, m, r, b) "
    "ON CONFLICT (provider, provider_id) DO NOTHING RETURNING provider, provider_id"
)
# A mail above this goes in a statement of its own: a batch holds its rows in memory at once.
RAW_BATCH_BYTES = 256 * 1024


def _insert_many_raw(rows: list[list]) -> set[Hashable]:
    """The raw rows' batch INSERT (the group-commit leader's write), in key order as `_insert_many`."""
    rows = sorted(rows, key=lambda row: (row[0], row[1]))
    columns = [list(column) for column in zip(*rows, strict=True)]

    def write() -> set[Hashable]:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_RAW_BATCH, columns)
            return {(provider, provider_id) for provider, provider_id in cursor.fetchall()}

    return _retrying_dropped_connection(write)


# Concurrent mail doors of this process share a commit too: one commit (one WAL flush) was most of
# what a mail cost the door (bench.email_ingest).
_raw_group = GroupCommit(_insert_many_raw, after_write=lambda: wake(), max_batch=32)


def accept_raw(envelope: InboundMessage, raw: bytes) -> bool:
    """Store a raw message (an email) once, to be parsed by a worker; False when it was already here.

    `envelope` says what the door knows without parsing: channel, provider, the idempotency key
    (provider_id), the address it arrived at. The worker hands raw and envelope to the channel's
    parser (`ChannelSpec.raw_parser`), so a slow or broken message never blocks the door. In
    autocommit the door joins its process's group commit, as `accept` does."""
    if not (envelope.provider and envelope.provider_id):
        raise ValueError("the inbox needs the provider's message id")
    received_at = envelope.received_at or timezone.now()
    values = [
        envelope.provider,
        envelope.provider_id,
        envelope.channel,
        _to_json(envelope, received_at),
        received_at,
        raw,
    ]
    if connection.vendor == "postgresql" and not connection.in_atomic_block and len(raw) <= RAW_BATCH_BYTES:
        return _raw_group.store(values, (envelope.provider, envelope.provider_id))
    if _retrying_dropped_connection(lambda: _insert(values, _INSERT_RAW)) is None:
        return False
    if _eager() or not connection.in_atomic_block:
        wake()  # committed already (autocommit), or the eager drain runs on this connection
    else:
        transaction.on_commit(wake)
    return True


def _eager() -> bool:
    from helpdesk.messaging import tasks

    return bool(tasks.drain_inbox.app.conf.task_always_eager)


# The skip window: once a process has seen the wake flag set, its webhooks skip Redis for
# INBOX_WAKE_SKIP_MS. Safe because a drain, after clearing the flag, keeps claiming until twice that
# has passed (or hands a full batch to a later drain that does): whichever drain clears the flag a
# webhook saw clears it after that webhook asked, so its last claim starts after the webhook's
# window closed. Web processes and workers need the same setting; 0 turns both off. In a surge
# this saves most Redis round trips (bench/README.md); a quiet desk pays a drain that polls a few
# cheap claims before it exits.
DRAIN_POLL = 0.01
_wake_skip_until = 0.0
# Seams for the tests' clock.
_monotonic = time.monotonic
_sleep = time.sleep


_wake_tokens = itertools.count()


def _wake_token() -> str:
    # The counter is per process (a forked child copies it): the pid tells the processes apart.
    return f"{os.getpid()}:{next(_wake_tokens)}"


def wake_skip() -> float:
    """Seconds a web process skips Redis after seeing the wake flag set."""
    return settings.INBOX_WAKE_SKIP_MS / 1000


def drain_linger() -> float:
    """Seconds a drain keeps claiming after clearing the flag: twice the skip window."""
    return 2 * wake_skip()


def wake() -> None:
    """Make sure a drain runs after what was just committed: publish one unless one is pending."""
    global _wake_skip_until
    from helpdesk.messaging import tasks

    try:
        if _eager():
            tasks.drain_inbox.delay()  # runs here and now
            return
        asked_at = _monotonic()
        if asked_at < _wake_skip_until:
            return
        # A token of our own, and GET: if the client retried a SET whose reply was lost, the flag
        # holds our token and we still publish (a plain NX would answer "already set").
        token = _wake_token()
        previous = redis_client.get().set(WAKE_KEY, token, nx=True, ex=WAKE_TTL_SECONDS, get=True)
        if previous is None or previous in (token, token.encode()):
            tasks.drain_inbox.delay()
        # Measured from before the SET: the drain that clears this flag does so after this instant.
        _wake_skip_until = asked_at + wake_skip()
    except Exception:  # noqa: BLE001 - Redis or the broker is down: the row is stored, the sweep records it
        logger.warning("inbox row stored but no drain queued; the sweep will record it", exc_info=True)


_CLAIM = (
    "UPDATE messaging_inboxmessage SET queued_at = %s WHERE id IN ("
    " SELECT id FROM messaging_inboxmessage WHERE processed_at IS NULL AND queued_at IS NULL"
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
    """Worker side of `wake()`: clear the flag, then record waiting messages until the linger has
    passed since (a full batch hands the rest to another drain instead)."""
    from helpdesk.messaging import tasks

    eager = _eager()
    try:
        if not eager:
            # Before claiming: a webhook that finds the flag gone publishes a new drain.
            redis_client.get().delete(WAKE_KEY)
        linger_until = _monotonic() + drain_linger()
        recorded = 0
        while True:
            claimed_at = _monotonic()
            ids = claim()
            if len(ids) == DRAIN_BATCH:
                # More may be waiting: another drain takes the next batch while this one works
                # (its own linger, from its later start, covers what this one would have waited for).
                tasks.drain_inbox.delay()
            process_many(ids)
            recorded += len(ids)
            if eager or len(ids) == DRAIN_BATCH or claimed_at >= linger_until:
                return recorded
            if not ids:
                _sleep(min(DRAIN_POLL, max(0.0, linger_until - _monotonic())))
    except Exception:
        if not eager:
            # Webhooks in a skip window counted on this drain to linger: hand over to another.
            with contextlib.suppress(Exception):
                tasks.drain_inbox.apply_async(countdown=1)
        raise


def process_many(inbox_ids: list[int]) -> None:
    """Process these inbox rows in order, one broken message never stopping the others; their live
    notices go out together at the end (one per ticket).

    The batch handler (settings.INBOUND_BATCH_HANDLER) takes what it can of the plain messages
    first, set-based, in one transaction with the rows' processed marks. Raw rows (an email) are
    parsed one by one. Then what opens a ticket for a sender nobody vouches for, and what only
    appends to an open ticket, is recorded together (`_record_together`). The rest go one by one,
    in order. At 20 statements and two commits per message, one by one topped out near 30 triage
    answers/s on two cores, and near 40 new mail tickets/s (bench/README.md)."""
    from helpdesk import batchmemo
    from helpdesk.tickets import realtime

    with realtime.coalesced(), batchmemo.batch():
        waiting = {
            row.pk: row for row in InboxMessage.objects.filter(pk__in=inbox_ids, processed_at__isnull=True)
        }
        ordered = [waiting[inbox_id] for inbox_id in inbox_ids if inbox_id in waiting]
        # Each row's message, read once: plain ones as stored, raw ones (an email) once parsed.
        messages = {row.pk: _from_json(row.message) for row in ordered}
        done = _process_batch([(row, messages[row.pk]) for row in ordered if row.raw is None])
        marks: list[InboxMessage] = []
        try:
            for row in ordered:
                if row.raw is not None:
                    parsed = _one_by_one(row, marks, lambda row=row: _parse(row, messages[row.pk], marks))
                    if parsed is None:
                        del messages[row.pk]  # kept with its reason, or left for the sweep
                    else:
                        messages[row.pk] = parsed
            left = [row for row in ordered if row.pk in messages and row.pk not in done]
            done |= _record_together([(row, messages[row.pk]) for row in left], marks)
            for row in left:
                if row.pk in done:
                    continue
                # The row as read above: one processed meanwhile by another drain is recorded
                # once all the same (record_inbound is idempotent by the provider's id).
                message = messages[row.pk]
                _one_by_one(row, marks, lambda row=row, message=message: _record_row(row, message, marks))
        finally:
            _write_marks(marks)


def _one_by_one(row: InboxMessage, marks: list[InboxMessage], step):
    try:
        return step()
    except Exception:  # noqa: BLE001 - one broken message must not stop the others
        # Left claimed: the sweep tries it again after SWEEP_AFTER.
        logger.exception("inbox %s not recorded; the sweep will retry it", row.pk)
        return None


def _record_together(pairs: list[tuple[InboxMessage, InboundMessage]], marks: list[InboxMessage]) -> set[int]:
    """Record set-based what can be: mail opening a ticket for an unproven sender
    (`open_unproven_many`), then plain appends to open tickets (`append_plain_many`), each in one
    transaction; offer each event to the handlers after its commit. Their marks join `marks`
    only then, so a worker that dies in between leaves them to the sweep (which meets them
    recorded and offers them again). Returns the rows recorded."""
    from helpdesk.tickets.inbound import offer_inbound_event
    from helpdesk.tickets.services import append_plain_many, open_unproven_many

    def offer(event) -> bool:
        offer_inbound_event(event)
        return True

    recorded: set[int] = set()
    for record_many in (open_unproven_many, append_plain_many):
        left = [(row, message) for row, message in pairs if row.pk not in recorded]
        if not left:
            break
        try:
            with transaction.atomic():
                events = record_many([message for _row, message in left])
        except Exception:  # noqa: BLE001 - rolled back whole; each message then goes its own way
            logger.warning(
                "inbox batch of %s rows failed; recording them one by one", len(left), exc_info=True
            )
            continue
        for (row, _message), event in zip(left, events, strict=True):
            if event is not None:
                recorded.add(row.pk)
                if _one_by_one(row, marks, lambda event=event: offer(event)):
                    _mark(row, marks, event_id=event.pk)
    return recorded


def _write_marks(marks: list[InboxMessage]) -> None:
    """The processed marks of a batch's rows, in one UPDATE at its end: a worker that dies before
    it leaves them unmarked, and the sweep offers them again (recording and the handlers are safe
    to run twice: see `process`)."""
    update_each(marks, ["processed_at", "event_id", "error", "note"])


def _process_batch(pairs: list[tuple[InboxMessage, InboundMessage]]) -> set[int]:
    """Hand the rows' messages to the batch handler; return the ids of those it recorded and handled."""
    from django.utils.module_loading import import_string

    path = settings.INBOUND_BATCH_HANDLER
    if not path or not pairs:
        return set()
    try:
        with transaction.atomic():
            events = import_string(path)([message for _row, message in pairs])
            now = timezone.now()
            handled = []
            for (row, _message), event in zip(pairs, events, strict=True):
                if event is not None:
                    row.processed_at, row.event_id = now, event.pk
                    handled.append(row)
            update_each(handled, ["processed_at", "event_id"])
    except Exception:  # noqa: BLE001 - rolled back whole; each message then goes its own way
        logger.warning("inbox batch of %s rows failed; recording them one by one", len(pairs), exc_info=True)
        return set()
    return {row.pk for row in handled}


def process(inbox_id: int) -> None:
    """Record one inbox row, then offer it to the inbound handlers; the row is marked processed only
    after they ran, so one whose worker died is swept and offered again (safe to run twice).

    The handlers run here rather than in one more Celery task per message: that hop (publish,
    deliver, ack, reload the event) cost more worker time than the triage answer itself
    (bench.triage, bench/README.md)."""
    row = InboxMessage.objects.filter(pk=inbox_id, processed_at__isnull=True).first()
    if row is not None:
        marks: list[InboxMessage] = []
        _process_row(row, marks)
        _write_marks(marks)


def _mark(
    row: InboxMessage, marks: list[InboxMessage], *, event_id=None, error: str = "", note: str = ""
) -> None:
    row.processed_at, row.event_id = timezone.now(), event_id
    if error or note:
        row.error, row.note = error[:300], note[:300]
    marks.append(row)


def _process_row(row: InboxMessage, marks: list[InboxMessage]) -> None:
    """Record one row and offer it to the handlers; its processed mark joins `marks`."""
    message = _from_json(row.message)
    if row.raw is not None:
        parsed = _parse(row, message, marks)
        if parsed is None:
            return
        message = parsed
    _record_row(row, message, marks)


def _record_row(row: InboxMessage, message: InboundMessage, marks: list[InboxMessage]) -> None:
    from helpdesk.errors import ApplicationError
    from helpdesk.tickets.inbound import offer_inbound_event
    from helpdesk.tickets.services import record_inbound

    try:
        result = record_inbound(message=message, offer_later=False, seen_once=True)
    except ApplicationError as exc:
        # The message cannot be recorded as sent (e.g. an impossible sender): keep it, say why.
        _mark(row, marks, error=exc.message)
        logger.warning("inbox %s not recorded: %s", row.pk, exc.code)  # the message may quote the sender
        return
    # Also when the event was there already: its worker may have died before the handlers ran.
    offer_inbound_event(result.event)
    _mark(row, marks, event_id=result.event.pk)


def _parse(row: InboxMessage, envelope: InboundMessage, marks: list[InboxMessage]) -> InboundMessage | None:
    """Parse a raw row through its channel; apply the delivery reports it carried. None when there is
    no customer's message to record (a bounce, or one that cannot be parsed: kept with the reason)."""
    from channels_app.base import parse_raw
    from helpdesk.messaging.delivery import record_delivery_report

    try:
        # The parser may name files by the row they stay in (an email's attachments).
        envelope = dataclasses.replace(envelope, payload={**envelope.payload, "inbox_id": row.pk})
        parsed = parse_raw(row.channel, bytes(row.raw or b""), envelope)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not lose the message: kept, with why
        logger.exception("inbox %s: the parser failed", row.pk)
        _mark(row, marks, error=f"the parser failed: {type(exc).__name__}")
        return None
    for report in parsed.reports:
        record_delivery_report(report)
    if parsed.message is None:
        _mark(row, marks, error=parsed.error, note=parsed.note)
        return None
    payload = {**parsed.message.payload, "inbox_id": row.pk}
    return dataclasses.replace(parsed.message, payload=payload)


def stale_ids(limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of rows whose wake-up was lost, or whose worker died before recording them."""
    cutoff = timezone.now() - SWEEP_AFTER
    unclaimed = Q(queued_at__isnull=True, received_at__lt=cutoff)
    return list(
        InboxMessage.objects.filter(Q(processed_at__isnull=True) & (unclaimed | Q(queued_at__lt=cutoff)))
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
