"""Email ingest: the signed HTTP door against /healthz in the same run, then the worker's parse and
record rate, over the test corpus (tests/channels_app/email/corpus.py, 108 shapes of real mail).

    python -m bench.email_ingest [--messages 3000] [--concurrency 16] [--strict]

Fresh PostgreSQL database (EMAIL_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_email_bench),
the production server (gunicorn, DJANGO_DEBUG=0) on EMAIL_BENCH_PORT (8151), no Celery worker (the
door's wake-up tasks wait in Redis and are purged). Each posted message is a corpus message made
unique (its Message-ID and a header numbered), signed beforehand. Then this process is the worker:
it drains every stored row through `inbox.process_many` in batches of 50 (parse, thread, record,
handlers) and reports messages/s. Targets (issue 14, acceptance 6): door >= 500 messages/s,
worker >= 200 messages/s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import sys
import time

import httpx

from bench import _sms

PORT = int(os.environ.get("EMAIL_BENCH_PORT", "8151"))
SECRET = "bench-email-secret"
DOOR_TARGET, WORKER_TARGET = 500.0, 200.0


def database_url() -> str:
    explicit = os.environ.get("EMAIL_BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tourniquet")
    return base.rsplit("/", 1)[0] + "/tourniquet_email_bench"


def messages(n: int) -> list[tuple[bytes, str]]:
    sys.path.insert(0, str(_sms.ROOT))
    from tests.channels_app.email.corpus import corpus

    shapes = [raw for _, raw, _ in corpus()]
    out = []
    for i in range(n):
        raw = shapes[i % len(shapes)].replace(b"@corpus.test>", f".{i}@corpus.test>".encode())
        raw = f"X-Bench-Seq: {i}\r\n".encode() + raw
        out.append((raw, "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()))
    return out


async def hammer(
    url: str, bodies: list[tuple[bytes, str] | None], concurrency: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while queue:
                item = queue.pop()
                began = time.perf_counter()
                if item is None:
                    response = await client.get(url)
                else:
                    raw, signature = item
                    response = await client.post(
                        url, content=raw,
                        headers={"Content-Type": "message/rfc822", "X-Tourniquet-Signature": signature},
                    )  # fmt: skip
                latencies.append(time.perf_counter() - began)
                if response.status_code not in (200, 202):
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    db_url = database_url()
    _sms.fresh_database(db_url)
    env = _sms.child_env(db_url, public_url=f"http://127.0.0.1:{PORT}", sms_gateway="")
    env.update(
        EMAIL_INBOUND_SECRET=SECRET, EMAIL_TRUSTED_AUTHSERV_IDS="mx.desk.test", DATABASE_CONN_MAX_AGE="60"
    )
    server = _sms.start(
        [str(_sms.Path(sys.executable).parent / "gunicorn"), "-c", "python:helpdesk.gunicorn",
         "-b", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env,
    )  # fmt: skip
    try:
        _sms.wait_http(f"http://127.0.0.1:{PORT}/healthz")
        bodies = messages(args.messages)
        asyncio.run(hammer(f"http://127.0.0.1:{PORT}/healthz", [None] * 300, args.concurrency))  # warm-up
        bare_s, _, _ = asyncio.run(
            hammer(f"http://127.0.0.1:{PORT}/healthz", [None] * args.messages, args.concurrency)
        )
        door_s, latencies, errors = asyncio.run(
            hammer(f"http://127.0.0.1:{PORT}/webhooks/email/inbound/", bodies, args.concurrency)
        )
    finally:
        _sms.stop(server)
    _sms.purge(env["REDIS_URL"])
    bare_rate, door_rate = args.messages / bare_s, args.messages / door_s
    print(f"/healthz (baseline):   {bare_rate:8.0f} requests/s")
    print(
        f"email door:            {door_rate:8.0f} messages/s  ({door_rate / bare_rate:.2f} x baseline; "
        f"p50 {_sms.percentile(latencies, 0.5) * 1000:.1f} ms, "
        f"p99 {_sms.percentile(latencies, 0.99) * 1000:.1f} ms; "
        f"{errors} errors)"
    )
    _sms.setup_django(env)
    from helpdesk.messaging import inbox
    from helpdesk.messaging.models import InboxMessage

    ids = list(
        InboxMessage.objects.filter(processed_at__isnull=True).order_by("id").values_list("id", flat=True)
    )
    began = time.perf_counter()
    for start in range(0, len(ids), inbox.DRAIN_BATCH):
        inbox.process_many(ids[start : start + inbox.DRAIN_BATCH])
    worker_s = time.perf_counter() - began
    worker_rate = len(ids) / worker_s
    kept = InboxMessage.objects.filter(processed_at__isnull=False).count()
    print(
        f"worker (one process):  {worker_rate:8.0f} messages/s parsed and recorded "
        f"({kept}/{len(ids)} processed)"
    )
    ok = door_rate >= DOOR_TARGET and worker_rate >= WORKER_TARGET and errors == 0 and kept == len(ids)
    print(
        "targets met"
        if ok
        else f"targets missed (door >= {DOOR_TARGET:.0f}/s, worker >= {WORKER_TARGET:.0f}/s)"
    )
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
