"""Celery entry points for tickets."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def process_inbound_event(event_id: int) -> None:
    """Offer a new inbound event to the handlers (consent, triage, routing), after the webhook answered."""
    from helpdesk.tickets.inbound import process_inbound_event as process

    process(event_id)


@shared_task
def escalate_sla() -> int:
    """Beat, every minute: fire the SLA escalation rules that are due (helpdesk/tickets/sla.py)."""
    from helpdesk.tickets import sla

    return sla.escalate()


@shared_task(acks_late=True)
def run_bulk_chunk(bulk_id: int, offset: int) -> None:
    """One chunk of a bulk action, then the next chunk as its own task (helpdesk/tickets/bulk.py)."""
    from helpdesk.tickets import bulk

    following = bulk.run_chunk(bulk_id, offset)
    if following is not None:
        run_bulk_chunk.delay(bulk_id, following)
