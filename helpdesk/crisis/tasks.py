"""Celery entry points for crises and broadcasts: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def plan_broadcast_task(broadcast_id: int) -> None:
    """Materialize the broadcast's deliveries, then start dispatching."""
    from helpdesk.crisis.services import plan_broadcast

    plan_broadcast(broadcast_id=broadcast_id)


@shared_task(acks_late=True)
def dispatch_broadcast_task(broadcast_id: int) -> None:
    """Send batches for a while; re-queue itself while there is more to send."""
    from helpdesk.crisis.services import dispatch_broadcast

    outcome = dispatch_broadcast(broadcast_id=broadcast_id)
    if outcome.stopped == "budget":
        dispatch_broadcast_task.delay(broadcast_id)


@shared_task
def sweep_broadcasts() -> None:
    """Start due scheduled broadcasts and reconcile deliveries a dead worker left 'sending'."""
    from helpdesk.crisis.services import (
        reconcile_stuck_deliveries,
        start_due_broadcasts,
        wake_stalled_broadcasts,
    )

    start_due_broadcasts()
    reconcile_stuck_deliveries()
    wake_stalled_broadcasts()
