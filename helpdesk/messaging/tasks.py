"""Celery entry points for the inbox and the outbox: thin, they call helpdesk.messaging."""

from __future__ import annotations

from celery import shared_task

from helpdesk.messaging import outbox


@shared_task(acks_late=True)
def relay_outbox_message(outbox_id: int) -> None:
    """Send one outbox row, scheduling a retry when the failure was transient."""
    retry_in = outbox.relay(outbox_id)
    if retry_in is not None:
        relay_outbox_message.apply_async((outbox_id,), countdown=retry_in)


@shared_task(acks_late=True)
def relay_outbox_messages(outbox_ids: list[int]) -> None:
    """Send a chunk of outbox rows in turn, scheduling a retry for each transient failure."""
    for outbox_id, retry_in in outbox.relay_many(outbox_ids).items():
        relay_outbox_message.apply_async((outbox_id,), countdown=retry_in)


@shared_task(acks_late=True)
def relay_outbox() -> int:
    """Sweep: relay every due row (missed wake-ups, retries, rows of dead workers)."""
    ids = outbox.due_ids()
    for outbox_id in ids:
        relay_outbox_message.delay(outbox_id)
    return len(ids)


@shared_task(acks_late=True)
def drain_inbox() -> int:
    """Record stored inbound messages (published by `inbox.wake`, coalesced; lingers briefly)."""
    from helpdesk.messaging import inbox

    return inbox.drain()


@shared_task(acks_late=True)
def sweep_inbox() -> int:
    """Process inbound messages whose task was lost (broker outage, killed worker)."""
    from helpdesk.messaging import inbox

    ids = inbox.stale_ids()
    inbox.process_many(ids)
    return len(ids)
