"""The inbound inbox: the fast half of every webhook.

`accept()` stores the parsed message with one INSERT … ON CONFLICT DO NOTHING (a provider's
retry inserts nothing) and hands new ones to a worker; `process()` runs in the worker and takes
the one inbound path, `tickets.services.record_inbound`. A webhook therefore costs one statement
and one publish, whatever routing, threading and triage cost later.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from channels_app.base import InboundMessage
from channels_app.models import InboxMessage

logger = logging.getLogger(__name__)

# A row still unprocessed after this long lost its task (broker down, worker killed): sweep it.
SWEEP_AFTER = timedelta(seconds=30)
SWEEP_BATCH = 500

_INSERT = (
    "INSERT INTO channels_app_inboxmessage (provider, provider_id, channel, message, received_at, error) "
    "VALUES (%s, %s, %s, %s, %s, '') ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id"
)


def _to_json(message: InboundMessage) -> str:
    data = dataclasses.asdict(message)
    data["received_at"] = message.received_at.isoformat() if message.received_at else None
    return json.dumps(data, ensure_ascii=False)


def _from_json(data: dict) -> InboundMessage:
    fields = {f.name for f in dataclasses.fields(InboundMessage)}
    values = {k: v for k, v in data.items() if k in fields}
    if values.get("received_at"):
        values["received_at"] = datetime.fromisoformat(values["received_at"])
    return InboundMessage(**values)


def accept(message: InboundMessage) -> bool:
    """Store the message once and queue it for a worker; False when it was already here."""
    if not (message.provider and message.provider_id):
        raise ValueError("the inbox needs the provider's message id")
    message = dataclasses.replace(message, received_at=message.received_at or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [message.provider, message.provider_id, message.channel, _to_json(message), message.received_at],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    from channels_app import tasks

    # The INSERT is committed already (autocommit), so the worker will find the row.
    try:
        tasks.process_inbox_message.delay(row[0])
    except Exception:  # noqa: BLE001 - the broker is down: the row is stored, the sweep records it
        logger.warning("inbox %s stored but not queued; the sweep will record it", row[0], exc_info=True)
    return True


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
    """Ids of rows whose task was lost."""
    return list(
        InboxMessage.objects.filter(processed_at__isnull=True, received_at__lt=timezone.now() - SWEEP_AFTER)
        .order_by("received_at")
        .values_list("id", flat=True)[:limit]
    )
