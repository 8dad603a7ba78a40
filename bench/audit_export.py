"""The audit export streams: 100,000 events in seconds, in the memory of a chunk.

    python -m bench.audit_export [--events 100000] [--strict]

On its own database (AUDIT_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_audit_bench,
recreated each run: audit rows cannot be deleted), loads `--events` audit events and a tenth of
that in another date range, then exports each range through the manager's export view (the
streamed response read to its end, as a browser would) and reports, for both, the time and the
peak memory Python allocated meanwhile (tracemalloc). The small range is the baseline: time grows
with the rows, memory must not. Targets: the large export under 10 s, its peak memory at most
1.5x the small one's. `--strict` exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

from bench import _sms

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    return _sms.database_url("audit")


def load(events: int, day: datetime) -> None:
    """`events` audit events on one day, a mix of field changes and messages, in one COPY."""
    import io

    from django.db import connection

    lines = io.StringIO()
    for i in range(events):
        at = (day + timedelta(seconds=i * 86000 / max(events, 1))).isoformat()
        if i % 3:
            row = (i // 7, i // 9, 1, "change", "status", "Open", "Pending", "", "", "Leyla")
        else:
            body = "سلام، آب تا زانو بالا آمده" if i % 2 else '=HYPERLINK("http://x") help is coming'
            row = (i // 7, i // 9, 1, "message_sent", "", "", body, "sms", f"+1415555{i % 10000:04d}", "Sara")
        ticket, customer, version, action, field, old, new, channel, recipient, actor = row
        lines.write(
            f"{ticket}\t{customer}\t{version}\t{action}\t{field}\t{old}\t{new}\t{channel}\t"
            f"{recipient}\t\\N\t\\N\t{actor}\t{at}\n"
        )
    lines.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_from(
            lines,
            "tickets_auditevent",
            columns=(
                "ticket_id",
                "customer_id",
                "version",
                "action",
                "field",
                "old",
                "new",
                "channel",
                "recipient",
                "event_id",
                "actor_id",
                "actor_name",
                "at",
            ),  # fmt: skip
        )


def export(day: datetime) -> tuple[float, int, int]:
    """(seconds, peak bytes, rows) of the export view's response for that day, read to its end."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory

    from helpdesk.accounts.models import AgentProfile, Role
    from helpdesk.tickets.views import audit_export

    manager, _created = get_user_model().objects.get_or_create(
        username="bench-manager", defaults={"is_staff": True}
    )
    AgentProfile.objects.update_or_create(user=manager, defaults={"role": Role.MANAGER})
    request = RequestFactory().get("/tickets/audit/export/", {"start": day.date(), "end": day.date()})
    request.user = manager
    tracemalloc.start()
    started = time.perf_counter()
    response = audit_export(request)
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, rows - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench._sms import fresh_database

    url = database_url()
    fresh_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from django.utils import timezone

    big_day = timezone.make_aware(datetime(2026, 3, 2))
    small_day = big_day + timedelta(days=7)
    load(args.events, big_day)
    load(args.events // 10, small_day)

    export(small_day)  # warm-up: imports, the first query plan
    small = export(small_day)
    big = export(big_day)
    print(f"audit export of {small[2]:,} events: {small[0]:.2f} s, peak {small[1] / 1e6:.1f} MB (baseline)")
    print(f"audit export of {big[2]:,} events: {big[0]:.2f} s, peak {big[1] / 1e6:.1f} MB")
    print(f"time ratio {big[0] / small[0]:.1f}x for {big[2] / small[2]:.0f}x the rows; "
          f"memory ratio {big[1] / small[1]:.2f}x")  # fmt: skip
    missed = big[0] >= 10 or big[1] > 1.5 * small[1] or big[2] != args.events
    if missed:
        print("target missed: under 10 s, memory within 1.5x of the baseline, every row exported")
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
