"""Agent workspace latency on a big database: queue, ticket page and search against a baseline.

    DATABASE_URL=postgres://.../tourniquet_bench python -m bench.workspace [--requests 200]

Assumes `manage.py seed_bulk` already filled DATABASE_URL. Starts the production server
(`gunicorn -c python:helpdesk.gunicorn`: gthread WSGI, DJANGO_DEBUG=0), logs in as an
agent, and times N sequential requests per page with httpx. The baseline is /healthz in the
same run, so the ratios hold on a faster or slower machine; the absolute targets are the
product's promise (queue and ticket p95 < 50 ms, search p95 < 200 ms).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tourniquet_bench"
PORT = int(os.environ.get("BENCH_PORT", "8131"))
AGENT = "bench-agent"
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a local benchmark login
BENCH_SUBJECT = "Bench: a ticket with 50 events"
HUGE_SUBJECT = "Bench: a ticket with 20,000 events"
HUGE_EVENTS = 20_000
TARGETS_MS = {
    "queue": 50.0,
    "ticket (50 events)": 50.0,
    "ticket (20k events)": 150.0,
    "search fa": 200.0,
    "search km": 200.0,
}
TARGETS_BYTES = {"ticket (20k events)": 300_000}


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare() -> tuple[int, int]:
    """Create the bench agent, a ticket with exactly 50 events and one with 20,000, once; return
    their ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from helpdesk.accounts.models import Role
    from helpdesk.accounts.services import create_agent
    from helpdesk.tickets.models import Ticket

    if connection.vendor != "postgresql":
        sys.exit("bench.workspace needs the PostgreSQL database seed_bulk filled (DATABASE_URL).")
    if not Ticket.objects.exists():
        sys.exit("The database is empty: run `manage.py seed_bulk --tickets N --events-per-ticket M` first.")
    if not get_user_model().objects.filter(username=AGENT).exists():
        create_agent(username=AGENT, password=PASSWORD, role=Role.AGENT, first_name="Bench")
    return _ticket_with(BENCH_SUBJECT, 50), _ticket_with(HUGE_SUBJECT, HUGE_EVENTS)


def _ticket_with(subject: str, n: int) -> int:
    from django.utils import timezone

    from helpdesk.customers.models import Customer
    from helpdesk.tickets.models import Ticket, TimelineEvent
    from helpdesk.tickets.services import create_ticket

    ticket = Ticket.objects.filter(subject=subject).first()
    if ticket is None:
        customer = Customer.objects.order_by("id").first()
        ticket = create_ticket(customer=customer, subject=subject, channel="sms")
        start = timezone.now() - timezone.timedelta(seconds=n)
        TimelineEvent.objects.bulk_create(
            (
                TimelineEvent(
                    customer=customer,
                    ticket=ticket,
                    channel="sms" if i % 4 != 3 else "system",
                    direction=("in", "out", "in", "internal")[i % 4],
                    kind="note" if i % 4 == 3 else "message",
                    body=f"Message {i}: the water is rising on our street, سیلاب, ទឹកជំនន់.",
                    delivery_status=("received", "delivered", "received", "")[i % 4],
                    created_at=start + timezone.timedelta(seconds=i),
                )
                for i in range(n)
            ),
            batch_size=5_000,
        )
    assert TimelineEvent.objects.filter(ticket=ticket).count() == n
    return ticket.pk


def server_command(wsgi: bool) -> list[str]:
    """The production HTTP server (gthread WSGI, what `make run` and compose start), or ASGI to compare."""
    app = [] if wsgi else ["-k", "uvicorn.workers.UvicornWorker", "helpdesk.asgi:application"]
    return [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:helpdesk.gunicorn", *app]


def start_server(wsgi: bool = False) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_DEBUG="0", CELERY_TASK_ALWAYS_EAGER="1", CHANNEL_LAYER_REDIS="0")
    command = [
        *server_command(wsgi),
        "-b",
        f"127.0.0.1:{PORT}",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            sys.exit("gunicorn exited before answering")
        time.sleep(0.2)
    stop_server(server)
    sys.exit("gunicorn did not answer /healthz within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def login(client: httpx.Client) -> None:
    client.get("/accounts/login/")
    response = client.post(
        "/accounts/login/",
        data={"username": AGENT, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": f"http://127.0.0.1:{PORT}/accounts/login/"},
    )
    if "sessionid" not in client.cookies:
        sys.exit(f"login failed: HTTP {response.status_code}")


def measure(client: httpx.Client, path: str, n: int) -> tuple[list[float], int]:
    """Time n sequential GETs (after a short warm-up); every one must answer 200. Returns the
    timings and the size of the last answer's body in bytes."""
    for _ in range(5):
        client.get(path)
    timings = []
    size = 0
    for _ in range(n):
        began = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            sys.exit(f"{path} answered {response.status_code}")
        size = len(response.content)
    return timings, size


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--asgi", action="store_true", help="serve HTTP with uvicorn workers (ASGI) instead of gthread WSGI"
    )
    args = parser.parse_args()

    setup_django()
    import logging

    from django.db import connection

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the table

    from helpdesk.tickets.management.commands.seed_bulk import SEARCH_TERMS
    from helpdesk.tickets.models import Ticket

    ticket_id, huge_id = prepare()
    tickets = Ticket.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'tickets_timelineevent'")
        events = cursor.fetchone()[0]
    connection.close()

    pages = {
        "baseline /healthz": "/healthz",
        "queue": "/tickets/",
        "ticket (50 events)": f"/tickets/{ticket_id}/",
        "ticket (20k events)": f"/tickets/{huge_id}/",
        "search fa": f"/tickets/search/?q={SEARCH_TERMS['fa']}",
        "search km": f"/tickets/search/?q={SEARCH_TERMS['km']}",
    }
    server = start_server(wsgi=not args.asgi)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            login(client)
            results = {name: measure(client, path, args.requests) for name, path in pages.items()}
    finally:
        stop_server(server)

    base = statistics.median(results["baseline /healthz"][0])
    print(f"\nworkspace bench: {tickets:,} tickets, ~{events:,} events, {args.requests} requests each")
    print(f"server: gunicorn {' '.join(server_command(not args.asgi)[1:])}, DEBUG=0\n")
    print(f"{'page':<22}{'p50 ms':>9}{'p95 ms':>9}{'x base':>9}{'target':>10}{'KB':>8}{'max KB':>8}  result")
    failed = False
    for name, (timings, size) in results.items():
        p50, p95 = percentile(timings, 50), percentile(timings, 95)
        target = TARGETS_MS.get(name)
        max_bytes = TARGETS_BYTES.get(name)
        ok = (target is None or p95 < target) and (max_bytes is None or size < max_bytes)
        verdict = "" if target is None and max_bytes is None else ("PASS" if ok else "FAIL")
        failed |= verdict == "FAIL"
        target_text = f"<{target:.0f}" if target else "-"
        limit_text = f"<{max_bytes // 1000}" if max_bytes else "-"
        print(
            f"{name:<22}{p50:>9.1f}{p95:>9.1f}{p50 / base:>9.1f}{target_text:>10}"
            f"{size / 1000:>8.1f}{limit_text:>8}  {verdict}"
        )
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
