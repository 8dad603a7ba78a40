"""Celery entry points for crises and broadcasts: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def plan_broadcast_task(broadcast_id: int) -> None:
    """Materialize the broadcast's deliveries, then start dispatching."""
    from helpdesk.crisis.services import plan_broadcast

    plan_broadcast(broadcast_id=broadcast_id)


@shared_task(acks_late=True)
def dispatch_broadcast_task(broadcast_id: int, token: str | None = None) -> None:
    """Send batches for a while under the dispatcher place `token`; queue a successor in that
    place while there is more to send."""
    from helpdesk.crisis.services import dispatch_broadcast

    outcome = dispatch_broadcast(broadcast_id=broadcast_id, token=token)
    if outcome.stopped == "budget":
        dispatch_broadcast_task.delay(broadcast_id, outcome.successor)


@shared_task
def sweep_broadcasts() -> None:
    """Start due scheduled broadcasts, reconcile rows dead dispatchers left 'sending', and top
    sending broadcasts back up to their dispatcher count. Runs on the `sweep` queue, which no
    dispatch task occupies; safe on two machines at once."""
    from helpdesk.crisis.services import (
        reconcile_stuck_deliveries,
        start_due_broadcasts,
        wake_stalled_broadcasts,
    )

    start_due_broadcasts()
    reconcile_stuck_deliveries()
    wake_stalled_broadcasts()


@shared_task
def evaluate_surges_task() -> None:
    """Switch surge mode by the last period's inbound volume (beat, every SURGE_EVALUATION_SECONDS,
    on the `sweep` queue so no broadcast's dispatch delays it)."""
    from helpdesk.crisis.surge import evaluate_surges

    evaluate_surges()
