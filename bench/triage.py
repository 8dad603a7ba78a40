"""Triage answers end to end: signed SMS webhooks → web server → Celery worker → engine → reply in the outbox.

    python -m bench.triage [--runs 10000] [--answers N] [--concurrency 32]

Sets up its own database (TRIAGE_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_triage_bench),
creates N active runs of the seeded "Stop the bleeding" flow in set-based inserts, starts the production
web server (gunicorn, WSGI) and a Celery worker as real processes, then posts one signed Twilio webhook per
run with an answer in Persian digits. It measures:

  baseline  webhooks accepted per second (the web tier alone: verify, record, enqueue)
  triage    answers processed per second end to end (a `triage_answer` event and the next question
            queued in the outbox for every answer), from the first POST to the last answer processed.

The ratio triage/baseline shows how much the worker side costs relative to accepting the webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench import _sms

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("TRIAGE_BENCH_PORT", "8183"))
AUTH_TOKEN = "bench-token-0000000000000000000000"
ACCOUNT_SID = "AC" + "b" * 32
OUR_NUMBER = "+15005550006"
# Numbers in the +1 415 7xx range are reserved for the bench's customers.
PHONE_BASE = 14157000000
# (name, queues, concurrency) of each Celery worker, as docker-compose.yml runs them.
WORKERS = [
    ("triage-bench-inbound", "inbound", 2),
    ("triage-bench", "outbound,broadcast,triage,default,sweep", 4),
]


def bench_database_url() -> str:
    explicit = os.environ.get("TRIAGE_BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tourniquet")
    return base.rsplit("/", 1)[0] + "/tourniquet_triage_bench"


def child_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/6"),
        CELERY_TASK_ALWAYS_EAGER="false",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_FROM=OUR_NUMBER,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{PORT}",
        DJANGO_DEBUG="false",
        DEMO_GATEWAYS_ENABLED="1",  # the console gateway stands in for providers here
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        # Replies are relayed by the console gateway: the bench measures our pipeline, not a provider.
        CHANNEL_GATEWAYS="sms=channels_app.console.gateway.ConsoleGateway,"
        "email=channels_app.console.gateway.ConsoleGateway,web=channels_app.console.gateway.ConsoleGateway",
        PYTHONUNBUFFERED="1",
    )
    return env


def setup_django(db_url: str) -> None:
    os.environ.update(child_env(db_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    # The client's own INFO line per request cost this process CPU the server and workers need.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def create_runs(n: int) -> list[str]:
    """Create n customers with a phone, an open ticket and an active run waiting on question 1."""
    from django.db import transaction
    from django.utils import timezone

    from helpdesk.customers.models import ContactPoint, Customer
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services import default_queue, recount_queue_counters
    from triage import engine
    from triage.models import Run
    from triage.services import seed_stop_the_bleeding

    flow = seed_stop_the_bleeding()
    version = flow.versions.get()
    state, _prompts, _ = engine.advance(version.definition, engine.new_state(language="fa"), None)
    queue = default_queue()
    now = timezone.now()
    phones = [f"+{PHONE_BASE + i}" for i in range(n)]
    chunk = 2000
    with transaction.atomic():
        for start in range(0, n, chunk):
            part = phones[start : start + chunk]
            customers = Customer.objects.bulk_create(
                [Customer(name=f"Bench {p}", language="fa") for p in part]
            )
            points = ContactPoint.objects.bulk_create(
                [
                    ContactPoint(customer=c, kind="phone", value=p, language="fa", verified=True)
                    for c, p in zip(customers, part, strict=True)
                ]
            )
            tickets = Ticket.objects.bulk_create(
                [
                    Ticket(
                        customer=c,
                        subject="Bench",
                        queue=queue,
                        channel="sms",
                        language="fa",
                        sla_due_at=now + timezone.timedelta(hours=4),
                        last_activity_at=now,
                    )  # fmt: skip
                    for c in customers
                ]
            )
            Run.objects.bulk_create(
                [
                    Run(
                        flow_version=version,
                        customer=c,
                        ticket=t,
                        contact_point=cp,
                        mode="sms",
                        source="segment",
                        language="fa",
                        state=state,
                        started_at=now,
                        last_activity_at=now,
                    )  # fmt: skip
                    for c, t, cp in zip(customers, tickets, points, strict=True)
                ]
            )
    recount_queue_counters()
    return phones


def start_processes(db_url: str) -> list[subprocess.Popen]:
    env = child_env(db_url)
    venv_bin = Path(sys.executable).parent
    web = subprocess.Popen(
        [str(venv_bin / "gunicorn"), "-c", "python:helpdesk.gunicorn", "-b", f"127.0.0.1:{PORT}",
         "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    # The workers of docker-compose.yml: inbound messages (the drain, which runs the handlers) on a
    # worker of their own, replies and the rest on another.
    workers = [
        subprocess.Popen(
            _sms.celery_command(name, queues, concurrency),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        for name, queues, concurrency in WORKERS
    ]
    return [web, *workers]


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def wait_for_server(timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{PORT}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the web server did not start")


def signed_posts(senders: list[str], body: str, tag: str) -> list[tuple[dict, dict]]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    url = f"http://127.0.0.1:{PORT}/webhooks/twilio/sms/"
    out = []
    for i, sender in enumerate(senders):
        params = {
            "MessageSid": f"SM{tag}{i:031x}",  # SM + 32 hex, as Twilio's
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": OUR_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        out.append((params, {"X-Twilio-Signature": validator.compute_signature(url, params)}))
    return out


def _request_bytes(params: dict, headers: dict) -> bytes:
    from urllib.parse import urlencode

    body = urlencode(params).encode()
    head = [
        "POST /webhooks/twilio/sms/ HTTP/1.1",
        f"Host: 127.0.0.1:{PORT}",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request on a kept-alive connection; return the status and whether the server keeps it."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    await reader.readexactly(int(fields.get("content-length", "0")))
    return status, fields.get("connection", "").lower() != "close"


async def post_all(requests: list[tuple[dict, dict]], concurrency: int) -> tuple[float, int]:
    """POST every request over `concurrency` kept-alive connections. A plain HTTP/1.1 client on
    asyncio streams: the load generator shares the two cores with the desk, and httpx spent 3.5 ms
    of CPU a request, more than the web server that answered it (bench/README.md)."""
    queue: asyncio.Queue = asyncio.Queue()
    for params, headers in requests:
        queue.put_nowait(_request_bytes(params, headers))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                try:
                    status, keep = await _exchange(reader, writer, request)
                except (asyncio.IncompleteReadError, ConnectionError):
                    # The server closed an idle connection: once more on a new one (a repeated
                    # MessageSid is stored once).
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
                    status, keep = await _exchange(reader, writer, request)
                if status >= 300:
                    failures += 1
                if not keep:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
        finally:
            writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.monotonic() - started, failures


def record_directly(senders: list[str], body: str, tag: str) -> float:
    """Fallback without the SMS webhook: record each answer as the webhook would, in this process."""
    from channels_app.base import InboundMessage
    from helpdesk.tickets.services import record_inbound

    started = time.monotonic()
    for i, sender in enumerate(senders):
        record_inbound(
            message=InboundMessage(
                channel="sms", sender_kind="phone", sender=sender, body=body, provider="twilio",
                provider_id=f"SM{tag}{i:031x}", recipient=OUR_NUMBER,
            )
        )  # fmt: skip
    return time.monotonic() - started


def webhook_available() -> bool:
    import httpx

    response = httpx.post(f"http://127.0.0.1:{PORT}/webhooks/twilio/sms/", data={}, timeout=5)
    return response.status_code != 404


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_group() -> dict[int, float]:
    """utime + stime of every live process, summed per process group, from /proc/<pid>/stat."""
    totals: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        fields = raw.rsplit(")", 1)[1].split()  # fields[0] is field 3 (state)
        group = int(fields[2])
        totals[group] = totals.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return totals


def postgres_cpu_seconds() -> dict[int, float]:
    """utime + stime of each PostgreSQL backend connected to the bench's database (others share the
    server), by pid."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    seconds = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def count_answers() -> int:
    from django.db import connection

    from helpdesk.tickets.models import TimelineEvent

    connection.close()  # a fresh snapshot each poll
    return TimelineEvent.objects.filter(kind="triage_answer").count()


def wait_for_inbox(timeout: float) -> float:
    """Wait until every inbox row is processed; return how long that took."""
    from helpdesk.messaging.models import InboxMessage

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        waiting = InboxMessage.objects.filter(processed_at__isnull=True).count()
        if not waiting:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def count_replies_queued() -> int:
    from helpdesk.messaging.models import Outbox

    return Outbox.objects.count()


def drain_here(senders: list[str]) -> None:
    """Store one answer per sender in the inbox, then drain them in this process as the inbound
    worker would (claim, process_many) and print the CPU, wall time and statements per answer:
    the worker's own cost, without the machine's other processes in the number."""
    from django.db import connection, transaction

    from channels_app.base import InboundMessage
    from helpdesk.messaging import inbox, tasks
    from helpdesk.tickets.models import TimelineEvent

    # No worker runs here: the relay's tasks are not published (they would wait in Redis).
    tasks.relay_outbox_messages.delay = tasks.relay_outbox_message.delay = lambda *a, **k: None  # type: ignore[method-assign]
    with transaction.atomic():  # stored, and no drain woken before the commit
        tasks.drain_inbox.delay = lambda *a, **k: None  # type: ignore[method-assign]
        for i, sender in enumerate(senders):
            inbox.accept(
                InboundMessage(
                    channel="sms",
                    sender_kind="phone",
                    sender=sender,
                    body="۲۵",
                    provider="twilio",
                    provider_id=f"SMa{i:031x}",
                    recipient=OUR_NUMBER,
                )  # fmt: skip
            )
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    cpu, wall = time.process_time(), time.monotonic()
    with connection.execute_wrapper(count):
        while ids := inbox.claim():
            inbox.process_many(ids)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    done = TimelineEvent.objects.filter(kind="triage_answer").count()
    n = max(done, 1)
    print(
        f"drained here: {done}/{len(senders)} answers, {cpu / n * 1000:.2f} ms CPU and "
        f"{wall / n * 1000:.2f} ms wall per answer, {statements / n:.2f} statements per answer "
        f"(batches of {inbox.DRAIN_BATCH}; BEGIN/COMMIT of atomic blocks not counted)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--answers", type=int, default=0, help="answers to send (default: one per run)")
    parser.add_argument("--baseline", type=int, default=1000, help="webhooks for the baseline phase")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--direct", action="store_true", help="record answers in-process instead of HTTP")
    parser.add_argument(
        "--drain-only", action="store_true", help="no processes: store the answers, drain them here, count"
    )
    args = parser.parse_args(argv)
    answers = args.answers or args.runs

    db_url = bench_database_url()
    _sms.recreate_database(db_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=child_env(db_url),
        check=True,
    )
    setup_django(db_url)
    t = time.monotonic()
    phones = create_runs(args.runs)
    print(f"setup: {args.runs} active runs in {time.monotonic() - t:.1f}s")
    if args.drain_only:
        drain_here(phones[:answers])
        return

    procs = start_processes(db_url)
    # A SIGTERM (timeout, Ctrl-C in make) must still stop the server and worker we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        wait_for_server()
        direct = args.direct or not webhook_available()
        if direct:
            print("note: no SMS webhook at /webhooks/twilio/sms/ — recording answers in-process (no HTTP)")
        # Baseline: numbers with no run; the web tier's own rate for the same signed webhook.
        strangers = [f"+{PHONE_BASE + 5_000_000 + i}" for i in range(args.baseline)]
        if direct:
            elapsed, failures = record_directly(strangers, "hello", "b"), 0
        else:
            elapsed, failures = asyncio.run(post_all(signed_posts(strangers, "hello", "b"), args.concurrency))
        if failures:
            raise SystemExit(f"{failures} baseline webhooks were refused; see the server log")
        baseline = args.baseline / elapsed
        print(
            f"baseline: {args.baseline} webhooks accepted in {elapsed:.1f}s = {baseline:.0f}/s "
            f"({failures} failed)"
        )

        # The baseline's messages (new customers, new tickets) must not drain during the triage phase.
        waited = wait_for_inbox(args.timeout)
        print(f"baseline drained {waited:.1f}s after its last webhook")

        replies_before = count_replies_queued()
        cpu_before, pg_before = cpu_seconds_by_group(), postgres_cpu_seconds()
        started = time.monotonic()
        if direct:
            elapsed_post, failures = record_directly(phones[:answers], "۲۵", "a"), 0
            client_cpu = 0.0
        else:
            requests = signed_posts(phones[:answers], "۲۵", "a")
            started = time.monotonic()
            client_cpu = time.process_time()
            elapsed_post, failures = asyncio.run(post_all(requests, args.concurrency))
            client_cpu = time.process_time() - client_cpu
        done = count_answers()
        while done < answers and time.monotonic() - started < args.timeout:
            time.sleep(0.5)
            done = count_answers()
        elapsed = time.monotonic() - started
        cpu_after = cpu_seconds_by_group()
        # Backends live as long as their connections (CONN_MAX_AGE): read before the processes stop.
        # A backend that closed in between is not counted: a lower bound.
        pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in postgres_cpu_seconds().items())
        replies = count_replies_queued() - replies_before
        rate = done / elapsed
        print(f"posted {answers} answers in {elapsed_post:.1f}s ({failures} failed)")
        print(
            f"triage: {done}/{answers} answers processed end to end in {elapsed:.1f}s = {rate:.0f} answers/s"
        )
        print(f"next questions queued in the outbox: {replies}")
        print(f"ratio triage/baseline: {rate / baseline:.2f}")
        names = ["web", *(name for name, _queues, _c in WORKERS)]
        per_answer = [
            f"{name} {(cpu_after.get(proc.pid, 0) - cpu_before.get(proc.pid, 0)) / max(done, 1) * 1000:.1f}"
            for name, proc in zip(names, procs, strict=True)
        ]
        print(
            "CPU ms per answer in the triage phase: " + ", ".join(per_answer)
            + f"; PostgreSQL (this database's backends) {pg_cpu / max(done, 1) * 1000:.1f}"
            + f"; the bench's own HTTP client {client_cpu / max(done, 1) * 1000:.1f}"
        )  # fmt: skip
        if done < answers:
            raise SystemExit(f"only {done} of {answers} answers were processed within {args.timeout}s")
    finally:
        stop_processes(procs)


if __name__ == "__main__":
    main()
