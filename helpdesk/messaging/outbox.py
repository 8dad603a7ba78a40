"""Transactional outbox and its relay: the only way a reply, a prompt or a notice is sent.

A service writes the outbound TimelineEvent and an Outbox row in one transaction; on commit the
relay task claims the row with a conditional update, takes a token from the sending account's rate
limit (ahead of broadcasts), calls the channel's gateway, and hands the outcome to the one delivery
action (`messaging.delivery.record_delivery_report`). A row whose worker died mid-send is swept
back to pending after CLAIM_TIMEOUT.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from channels_app.base import (
    ChannelError,
    DeliveryReport,
    DeliveryStatus,
    OutboundMessage,
    get_gateway,
    sending_account,
)
from helpdesk.messaging import ratelimit
from helpdesk.messaging.delivery import apply_contact_state, record_delivery_report
from helpdesk.messaging.models import Outbox, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# A worker killed mid-call leaves its row 'sending'; after this long another worker may retry it.
CLAIM_TIMEOUT = timedelta(minutes=2)
# A reply waits this long in the worker for the account's next token; longer waits are rescheduled.
MAX_RATE_WAIT_SECONDS = 1.0
# One sweep relays at most this many rows, so a backlog is worked off in bounded tasks.
SWEEP_BATCH = 200
# Rows of one enqueue_many that one relay task sends in turn. A drained batch of 50 triage answers
# published 50 tasks, a third of the drain's CPU (bench.triage); a chunk of ten keeps its last reply
# within ten provider calls of its first, and the outbound workers send several chunks at once.
RELAY_CHUNK = 10


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: its outbound event (saved) and where and what to send."""

    event: Any
    to: str
    body: str
    subject: str = ""
    language: str = "en"
    metadata: dict | None = None

    def row(self) -> Outbox:
        return Outbox(
            event=self.event,
            channel=self.event.channel,
            to=self.to,
            subject=self.subject,
            body=self.body,
            language=self.language,
            metadata=self.metadata or {},
            next_attempt_at=timezone.now(),
        )


def enqueue(
    *, event, to: str, body: str, subject: str = "", language: str = "en", metadata: dict | None = None
) -> Outbox:
    """Write an outbox row for the event; the relay is woken when the transaction commits."""
    return enqueue_many([Outgoing(event, to, body, subject, language, metadata)])[0]


def enqueue_many(messages: Sequence[Outgoing]) -> list[Outbox]:
    """Write the outbox rows in one INSERT; when the transaction commits, one relay task per
    RELAY_CHUNK rows sends them."""
    from helpdesk.messaging import tasks

    rows = Outbox.objects.bulk_create([m.row() for m in messages])
    ids = [row.pk for row in rows]
    for start in range(0, len(ids), RELAY_CHUNK):
        transaction.on_commit(partial(tasks.relay_outbox_messages.delay, ids[start : start + RELAY_CHUNK]))
    return rows


def relay_many(outbox_ids: Sequence[int]) -> dict[int, float]:
    """Send these rows in turn, one failure never stopping the others; return the seconds until a
    retry is due for each row that needs one. Their live notices go out together at the end.

    The rows are claimed together (two statements instead of two per row: a quarter of the relay's
    CPU); each is still sent and recorded on its own, so a crash re-sends at most the row in flight,
    and the others wait CLAIM_TIMEOUT for the sweep."""
    from helpdesk.tickets import realtime

    retries: dict[int, float] = {}
    with realtime.coalesced():
        for row in claim_many(outbox_ids):
            try:
                retry_in = _relay_claimed(row)
            except Exception:  # noqa: BLE001 - the sweep (due_ids) picks the row up again
                logger.exception("outbox %s not relayed; the sweep will retry it", row.pk)
                continue
            if retry_in is not None:
                retries[row.pk] = retry_in
    return retries


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, capped."""
    return random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * (2 ** max(0, attempt - 1))))


def claim(outbox_id: int) -> bool:
    """Take the row for this worker; False when another worker has it or it is not due."""
    now = timezone.now()
    return bool(
        Outbox.objects.filter(pk=outbox_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now).update(
            status=OutboxStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


_CLAIM_MANY = (
    "UPDATE messaging_outbox SET status = %s, claimed_at = %s, attempts = attempts + 1"
    " WHERE id = ANY(%s) AND status = %s AND next_attempt_at <= %s RETURNING id"
)


def claim_many(outbox_ids: Sequence[int]) -> list[Outbox]:
    """Take the due rows among these for this worker, with their events and contact points, in two
    statements; oldest first. Rows another worker has, or not yet due, are left out."""
    now = timezone.now()
    if not outbox_ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _CLAIM_MANY, [OutboxStatus.SENDING, now, list(outbox_ids), OutboxStatus.PENDING, now]
            )
            claimed = [row_id for (row_id,) in cursor.fetchall()]
    else:  # the SQLite demo: one writer at a time, so a claim per row is just as safe
        claimed = [outbox_id for outbox_id in outbox_ids if claim(outbox_id)]
    return list(Outbox.objects.select_related("event__contact_point").filter(pk__in=claimed).order_by("id"))


def relay(outbox_id: int) -> float | None:
    """Send one outbox row. Returns seconds until a retry is due, or None when finished."""
    if not claim(outbox_id):
        return None
    return _relay_claimed(Outbox.objects.select_related("event__contact_point").get(pk=outbox_id))


def _relay_claimed(row: Outbox) -> float | None:
    """Send a row this worker claimed (`claim`, `claim_many`), its event and point loaded."""
    from helpdesk.tickets.models import TimelineEvent
    from helpdesk.tickets.services import blocked_reason

    event = row.event
    point = event.contact_point
    # Consent is checked at send time too: a STOP may have arrived after the reply was queued.
    reason = blocked_reason(point, row.channel) if point is not None else ""
    if reason:
        _finish(row, OutboxStatus.BLOCKED, reason)
        TimelineEvent.objects.filter(pk=event.pk).update(
            delivery_status=DeliveryStatus.BLOCKED, delivery_error=reason[:300]
        )
        _notify(event)
        return None
    message = OutboundMessage(
        outbox_id=row.pk,
        channel=row.channel,
        to=row.to,
        body=row.body,
        subject=row.subject,
        language=row.language,
        metadata={**row.metadata, "event_id": event.pk, "ticket_id": event.ticket_id},
    )
    try:
        gateway = get_gateway(row.channel)
        wait = _wait_for_token(gateway)
        if wait:
            # The account is busy (a burst of replies): try again when the next token is due.
            Outbox.objects.filter(pk=row.pk).update(
                status=OutboxStatus.PENDING, next_attempt_at=timezone.now() + timedelta(seconds=wait)
            )
            return wait
        result = gateway.send(message)
    except ChannelError as exc:
        if exc.contact_state is not None and point is not None:
            apply_contact_state(
                contact_point_ids=[point.pk], state=exc.contact_state, reason=f"provider {exc.code}".strip()
            )
        if not exc.permanent and row.attempts < MAX_ATTEMPTS:
            delay = max(backoff_seconds(row.attempts), exc.retry_after or 0)
            Outbox.objects.filter(pk=row.pk).update(
                status=OutboxStatus.PENDING,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                last_error=exc.message[:300],
            )
            logger.info("outbox %s transient failure (code %s), retry in %.1fs", row.pk, exc.code, delay)
            return delay
        error = f"{exc.code}: {exc.message}" if exc.code else exc.message
        _finish(row, OutboxStatus.FAILED, error)
        TimelineEvent.objects.filter(pk=event.pk).update(
            delivery_status=DeliveryStatus.FAILED, delivery_error=error[:300]
        )
        _notify(event)
        return None
    with transaction.atomic():
        _finish(row, OutboxStatus.SENT, "")
        provider_id = result.provider_id or f"outbox-{row.pk}"
        TimelineEvent.objects.filter(pk=event.pk).update(provider=result.provider, provider_id=provider_id)
        record_delivery_report(
            DeliveryReport(provider=result.provider, provider_id=provider_id, status=result.status)
        )
    _notify(event)
    return None


def _wait_for_token(gateway) -> float:
    """Take one token from the gateway's account, waiting briefly; return the rest of a long wait."""
    account = sending_account(gateway)
    if account is None or account.rate_per_second <= 0:
        return 0.0
    bucket = ratelimit.Bucket(account.key, account.rate_per_second)
    deadline = time.monotonic() + MAX_RATE_WAIT_SECONDS
    while True:
        granted, wait = ratelimit.take([bucket], 1, priority=True)
        if granted:
            return 0.0
        if time.monotonic() + wait > deadline:
            return max(wait, 0.001)
        time.sleep(wait)


def _finish(row: Outbox, status: str, error: str) -> None:
    Outbox.objects.filter(pk=row.pk).update(status=status, last_error=error[:300])


def _notify(event) -> None:
    from helpdesk.tickets import realtime

    if event.ticket_id:
        realtime.ticket_id_changed(event.ticket_id, event_id=event.pk)


def due_ids(limit: int = SWEEP_BATCH) -> list[int]:
    """Release rows abandoned mid-send, then return ids of rows due for a (re)try."""
    now = timezone.now()
    Outbox.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT).update(
        status=OutboxStatus.PENDING, next_attempt_at=now
    )
    return list(
        Outbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )
