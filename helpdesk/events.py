"""Domain events other systems may hear of (helpdesk.integrations turns them into webhooks).

`publish(name, data)` is called inside the transaction that made the change, so a subscriber
records its delivery in the same commit: the change and the news of it stand or fall together.
The core calls only this; it never imports an integration."""

from __future__ import annotations

import uuid

from django.dispatch import Signal

# kwargs: name (one of NAMES), event_id (a UUID string, the idempotency key), data (JSON-able dict)
published = Signal()

NAMES = (
    "ticket.created",
    "ticket.updated",
    "message.received",
    "message.sent",
    "triage.completed",
    "broadcast.finished",
    "survey.answered",
)


def publish(name: str, data: dict) -> str:
    """Announce a domain event; return its id."""
    if name not in NAMES:
        raise ValueError(name)
    event_id = str(uuid.uuid4())
    published.send(sender=None, name=name, event_id=event_id, data=data)
    return event_id
