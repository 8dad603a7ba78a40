"""Past volumes from another system: a CSV with a header row start, channel, language, contacts
(start an ISO date-time on a half-hour; language optional), stored per interval once (a second
import of the same interval replaces its count), so a new desk forecasts from its old numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from helpdesk.errors import ApplicationError
from helpdesk.staffing.models import ImportedVolume

MAX_ROWS = 500_000  # about ten years of half-hours for three channels


def import_csv(*, data: bytes) -> int:
    """Store the CSV's intervals; return how many rows were read. Refuses the file at its first bad
    row, naming it, and stores nothing then."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(_("The CSV must be UTF-8."), code="invalid_csv") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"start", "channel", "contacts"} <= set(reader.fieldnames):
        raise ApplicationError(
            _("The CSV needs the columns start, channel and contacts."), code="invalid_csv"
        )
    rows: dict[tuple, ImportedVolume] = {}
    for number, row in enumerate(reader, start=2):
        try:
            start = parse_datetime((row.get("start") or "").strip())
            contacts = int((row.get("contacts") or "").strip())
        except ValueError:
            start, contacts = None, -1
        channel = (row.get("channel") or "").strip()[:16]
        if start is None or contacts < 0 or not channel or start.minute % 30 or start.second:
            raise ApplicationError(
                _("Row %(row)s: a start on the half-hour, a channel and a count are needed.")
                % {"row": number},
                code="invalid_csv",
            )
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        language = (row.get("language") or "").strip()[:8]
        rows[(start, channel, language)] = ImportedVolume(start=start, channel=channel, language=language,
                                                          contacts=contacts)  # fmt: skip
        if len(rows) > MAX_ROWS:
            raise ApplicationError(_("At most 500,000 rows at once."), code="invalid_csv")
    ImportedVolume.objects.bulk_create(
        rows.values(), batch_size=5000, update_conflicts=True,
        unique_fields=["start", "channel", "language"], update_fields=["contacts"],
    )  # fmt: skip
    return len(rows)
