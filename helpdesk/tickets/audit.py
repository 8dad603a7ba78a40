"""The audit record read back: a ticket's or customer's history, and the export managers hand to
auditors (what was said to whom, on which channel, when, by whom).

The export streams: rows are read with a server-side cursor a chunk at a time and written as CSV
as they come, so 100,000 events cost the memory of one chunk. Cells a spreadsheet would run as a
formula (starting with = + - @, a tab or a carriage return) are prefixed with a quote (OWASP's
CSV injection advice): a customer's "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from helpdesk.tickets.models import AuditEvent

COLUMNS = (
    "at", "ticket", "customer", "action", "field", "old", "new", "channel", "recipient", "actor", "version",
)  # fmt: skip
CHUNK = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The value as text a spreadsheet shows and never evaluates."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def history(*, ticket_id: int | None = None, customer_id: int | None = None) -> QuerySet[AuditEvent]:
    """A ticket's or a customer's audit events, newest first."""
    rows = AuditEvent.objects.all()
    if ticket_id is not None:
        rows = rows.filter(ticket_id=ticket_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows.order_by("-at", "-id")


def in_range(start: date, end: date) -> QuerySet[AuditEvent]:
    """Events from the start of `start` to the end of `end`, in the desk's time zone, in order."""
    zone = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return AuditEvent.objects.filter(at__gte=since, at__lt=until).order_by("at", "id")


class _Line:
    """csv.writer's file: hands back each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(rows: QuerySet[AuditEvent]) -> Iterator[str]:
    """The header, then one CSV line per event, read CHUNK rows at a time."""
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    values = rows.values_list(
        "at", "ticket_id", "customer_id", "action", "field", "old", "new", "channel", "recipient",
        "actor_name", "version",
    )  # fmt: skip
    for row in values.iterator(chunk_size=CHUNK):
        at, *rest = row
        yield writer.writerow([at.isoformat(), *(safe_cell(v) for v in rest)])
