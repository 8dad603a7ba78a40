"""Email ingest: the signed HTTP door against /healthz in the same run, then the worker's parse and
record rate, over the test corpus (tests/channels_app/email/corpus.py, 108 shapes of real mail).

    python -m bench.email_ingest [--rounds 3] [--seconds 5] [--concurrency 16] [--strict]
    python -m bench.email_ingest --python-clients [--messages 3000]   (no wrk on the machine)

Fresh PostgreSQL database (EMAIL_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_email_bench),
the production server (gunicorn, DJANGO_DEBUG=0) on EMAIL_BENCH_PORT (8151), no Celery worker (the
door's wake-up tasks wait in Redis and are purged). wrk (2 threads, a second process) alternates
runs against /healthz and runs posting mail, as bench.sms_inbound does; each posted message is a
corpus message made unique (its Message-ID and a header numbered), signed beforehand. Then this
process is the worker: it drains the first --worker-messages stored rows through
`inbox.process_many` in batches of 50 (parse, thread, record, handlers) and reports messages/s.
Targets (issue 14, acceptance 6): door >= 500 messages/s, worker >= 200 messages/s.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import sys
import time

from bench import _load, _sms

PORT = int(os.environ.get("EMAIL_BENCH_PORT", "8151"))
SECRET = "bench-email-secret"
DOOR_TARGET, WORKER_TARGET = 500.0, 200.0


def database_url() -> str:
    return _sms.database_url("email")


def messages(n: int) -> list[tuple[bytes, dict[str, str]]]:
    """n signed posts: the corpus's shapes in turn, each made unique (Message-ID, a numbered header)."""
    sys.path.insert(0, str(_sms.ROOT))
    from tests.channels_app.email.corpus import corpus

    shapes = [raw for _, raw, _ in corpus()]
    out = []
    for i in range(n):
        raw = shapes[i % len(shapes)].replace(b"@corpus.test>", f".{i}@corpus.test>".encode())
        raw = f"X-Bench-Seq: {i}\r\n".encode() + raw
        signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        out.append((raw, {"Content-Type": "message/rfc822", "X-Tourniquet-Signature": signature}))
    return out


def door(base: str, args) -> tuple[float, float, float, int]:
    """(baseline requests/s, door messages/s, door p99 ms, non-2xx) with wrk, or httpx clients."""
    path = "/webhooks/email/inbound/"
    if args.python_clients:
        bodies = messages(args.messages)
        bare_s, _, _ = _load.hammer(base + "/healthz", [None] * args.messages, args.concurrency)
        door_s, latencies, errors = _load.hammer(base + path, bodies, args.concurrency)
        print(f"load generator: {args.concurrency} httpx clients in this process")
        return args.messages / bare_s, len(bodies) / door_s, _sms.percentile(latencies, 0.99) * 1000, errors
    # Every posted mail is new: enough for 2,000 a second in every round.
    bodies = messages(2000 * args.seconds * args.rounds)
    rounds = _load.wrk_rounds(
        base, path, bodies, rounds=args.rounds, seconds=args.seconds, concurrency=args.concurrency,
        label="email door",
    )  # fmt: skip
    return (
        _load.median(r[0]["rps"] for r in rounds),
        _load.median(r[1]["rps"] for r in rounds),
        max(r[1]["p99"] for r in rounds),
        int(sum(r[1]["errors"] for r in rounds)),
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="alternating bare/door wrk rounds")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--python-clients", action="store_true", help="httpx clients instead of wrk")
    parser.add_argument("--messages", type=int, default=3000, help="posts per side with --python-clients")
    parser.add_argument(
        "--worker-messages", type=int, default=2000, help="rows the worker parses and records"
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    if not args.python_clients and not _load.have_wrk():
        raise SystemExit("wrk is not installed (apt-get install wrk), or pass --python-clients")
    db_url = database_url()
    _sms.fresh_database(db_url)
    base = f"http://127.0.0.1:{PORT}"
    env = _sms.child_env(db_url, public_url=base, sms_gateway="")
    env.update(
        EMAIL_INBOUND_SECRET=SECRET, EMAIL_TRUSTED_AUTHSERV_IDS="mx.desk.test", DATABASE_CONN_MAX_AGE="60"
    )
    server = _sms.start(
        [str(_sms.Path(sys.executable).parent / "gunicorn"), "-c", "python:helpdesk.gunicorn",
         "-b", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env,
    )  # fmt: skip
    try:
        _sms.wait_http(base + "/healthz")
        _load.hammer(base + "/healthz", [None] * 300, args.concurrency)  # warm-up
        bare_rate, door_rate, door_p99, errors = door(base, args)
    finally:
        _sms.stop(server)
    _sms.purge(env["REDIS_URL"])
    print(f"/healthz (baseline):   {bare_rate:8.0f} requests/s")
    print(
        f"email door:            {door_rate:8.0f} messages/s  ({door_rate / bare_rate:.2f} x baseline; "
        f"p99 worst {door_p99:.1f} ms; {errors} errors)"
    )
    _sms.setup_django(env)
    from helpdesk.messaging import inbox
    from helpdesk.messaging.models import InboxMessage

    # The worker's share: the first rows the door stored, in arrival order.
    ids = list(
        InboxMessage.objects.filter(processed_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[: args.worker_messages]
    )
    began = time.perf_counter()
    for start in range(0, len(ids), inbox.DRAIN_BATCH):
        inbox.process_many(ids[start : start + inbox.DRAIN_BATCH])
    worker_s = time.perf_counter() - began
    worker_rate = len(ids) / worker_s
    kept = InboxMessage.objects.filter(pk__in=ids, processed_at__isnull=False).count()
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
