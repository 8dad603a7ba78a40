"""The managers' reports at 5 million timeline events: rollups built once, then the page timed.

    DATABASE_URL=postgres://.../tourniquet_reports_bench python -m bench.reports [--tickets 1000000]
        [--events-per-ticket 5] [--requests 20]

Seeds the desk with `manage.py seed_bulk` (1,000,000 tickets × 5 events = 5,000,000 events over a
year; skipped when already seeded), builds the 30-minute rollups from the whole timeline
(`helpdesk.staffing.rollups.rebuild`, timed: what a new install's first run costs), then times
GET /reports/ for the last 7, 30 and 365 days, and counts its queries. The baseline, in the same
run, is the same page over a week with no data at all: what the page costs without volume. The
issue's bar: p95 < 300 ms with the same query count at every size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--events-per-ticket", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tourniquet_reports_bench")
    subprocess.run([sys.executable, "manage.py", "ensure_database"], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "seed_bulk", "--tickets", str(args.tickets), "--events-per-ticket",
         str(args.events_per_ticket), "--skip-if-seeded"],
        cwd=ROOT, check=True,
    )  # fmt: skip
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk.accounts.models import Role
    from helpdesk.staffing import rollups
    from helpdesk.staffing.models import IntervalRollup, RollupMark
    from helpdesk.tickets.models import TimelineEvent

    events = TimelineEvent.objects.count()
    print(f"timeline: {events:,} events")
    if not IntervalRollup.objects.exists():
        began = time.perf_counter()
        first = TimelineEvent.objects.order_by("created_at").values_list("created_at", flat=True).first()
        last = datetime.now(UTC) + timedelta(minutes=30)
        rows = rollups.rebuild(first, last)
        newest = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        RollupMark.objects.update_or_create(pk=1, defaults={"last_event_id": newest})
        took = time.perf_counter() - began
        rate = events / took
        print(f"rollups built from the whole timeline: {rows:,} rows in {took:.0f} s ({rate:,.0f} events/s)")
    from helpdesk.staffing.models import DayRollup

    if not DayRollup.objects.exists():  # rollups built before the day rows existed
        began = time.perf_counter()
        first = IntervalRollup.objects.order_by("start").values_list("start", flat=True).first()
        rollups.rebuild_days(first.date(), datetime.now(UTC).date() + timedelta(days=1))
        print(f"day rows summed from the interval rows in {time.perf_counter() - began:.0f} s")
    print(f"rollup rows: {IntervalRollup.objects.count():,} intervals, {DayRollup.objects.count():,} days")
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-manager", defaults={"is_staff": True})
    from helpdesk.accounts.models import AgentProfile

    AgentProfile.objects.update_or_create(user=user, defaults={"role": Role.MANAGER})
    client = Client()
    client.force_login(user)
    today = datetime.now(UTC).date()
    pages = {
        "baseline: an empty week": "/reports/?since=2001-01-01&until=2001-01-07",
        "last 7 days": f"/reports/?since={today - timedelta(days=6)}&until={today}",
        "last 30 days": f"/reports/?since={today - timedelta(days=29)}&until={today}",
        "last 365 days": f"/reports/?since={today - timedelta(days=364)}&until={today}",
    }
    baseline = None
    for name, url in pages.items():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        queries = len(ctx.captured_queries)
        times = []
        for _ in range(args.requests):
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200
        p50, p95 = percentile(times, 50), percentile(times, 95)
        baseline = baseline or p95
        print(f"{name:>24}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({p95 / baseline:.1f}× baseline)  "
              f"{queries} queries")  # fmt: skip


if __name__ == "__main__":
    main()
