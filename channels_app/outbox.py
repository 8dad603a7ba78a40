"""Transactional outbox and its relay: the only way anything is sent.

A service writes the outbound TimelineEvent and an Outbox row in one transaction; on commit the
relay task claims the row with a conditional update, calls the channel's gateway, and records
the provider id. A row whose worker died mid-send is swept back to pending after CLAIM_TIMEOUT.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from channels_app.base import ChannelError, OutboundMessage, get_gateway
from channels_app.models import Outbox, OutboxStatus

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
# A worker killed mid-call leaves its row 'sending'; after this long another worker may retry it.
CLAIM_TIMEOUT = timedelta(minutes=2)
# One sweep relays at most this many rows, so a backlog is worked off in bounded tasks.
SWEEP_BATCH = 200


def enqueue(
    *, event, to: str, body: str, subject: str = "", language: str = "en", metadata: dict | None = None
) -> Outbox:
    """Write an outbox row for the event; the relay is woken when the transaction commits."""
    row = Outbox.objects.create(
        event=event,
        channel=event.channel,
        to=to,
        subject=subject,
        body=body,
        language=language,
        metadata=metadata or {},
        next_attempt_at=timezone.now(),
    )
    from channels_app import tasks

    transaction.on_commit(lambda: tasks.relay_outbox_message.delay(row.pk))
    return row


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


def relay(outbox_id: int) -> float | None:
    """Send one outbox row. Returns seconds until a retry is due, or None when finished."""
    from helpdesk.customers import services as customer_services
    from helpdesk.tickets.models import DeliveryStatus, TimelineEvent
    from helpdesk.tickets.services import blocked_reason, update_delivery_status

    if not claim(outbox_id):
        return None
    row = Outbox.objects.select_related("event__contact_point").get(pk=outbox_id)
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
        result = get_gateway(row.channel).send(message)
    except ChannelError as exc:
        if exc.code and point is not None:
            _apply_contact_consequence(exc, point, customer_services)
        if not exc.permanent and row.attempts < MAX_ATTEMPTS:
            delay = max(backoff_seconds(row.attempts), exc.retry_after or 0)
            Outbox.objects.filter(pk=row.pk).update(
                status=OutboxStatus.PENDING,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                last_error=exc.message[:300],
            )
            logger.info("outbox %s transient failure (%s), retry in %.1fs", row.pk, exc.message, delay)
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
        TimelineEvent.objects.filter(pk=event.pk).update(
            provider=result.provider, provider_id=result.provider_id
        )
        if result.provider_id:
            update_delivery_status(
                provider=result.provider, provider_id=result.provider_id, status=result.status
            )
        else:
            TimelineEvent.objects.filter(pk=event.pk).update(delivery_status=result.status)
    _notify(event)
    return None


def _apply_contact_consequence(exc: ChannelError, point, customer_services) -> None:
    if exc.contact_state == "opted_out":
        customer_services.opt_out(contact_point=point, reason=f"provider {exc.code}")
    elif exc.contact_state == "invalid":
        customer_services.mark_invalid(contact_point=point)


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
