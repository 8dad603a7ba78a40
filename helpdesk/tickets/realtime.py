"""Live updates: after commit, tell the agents' browsers that a ticket or queue changed."""

from __future__ import annotations

import logging

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
    transaction.on_commit(lambda: _send(ticket_id, event_id))


def _send(ticket_id: int, event_id: int | None) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "ticket.changed", "ticket_id": ticket_id, "event_id": event_id}
    try:
        async_to_sync(layer.group_send)(ticket_group(ticket_id), message)
        async_to_sync(layer.group_send)(QUEUE_GROUP, message)
    except Exception:  # noqa: BLE001 - a realtime hiccup must never fail the action that caused it
        logger.warning("realtime notification for ticket %s failed", ticket_id, exc_info=True)
