"""Inbound SMS webhooks against the production server, relative to a bare Django view.

    python -m bench.sms_inbound [--requests 3000] [--concurrency 16] [--strict]

Starts the production HTTP server (`gunicorn helpdesk.wsgi:application -k gthread`) with DJANGO_DEBUG=0
on a fresh PostgreSQL database (SMS_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_sms_bench),
port SMS_BENCH_PORT (8141). 16 concurrent clients first hit /healthz (the bare view: the baseline), then
post signed Twilio webhooks (signatures computed before timing) from 200 customers whose tickets the
warm-up opened, so each timed webhook verifies, records one event in the open ticket and enqueues its
after-commit task to Redis. Reports requests/s,
the ratio webhook/bare (target ≥ 0.5) and webhook p50/p95/p99 latency (target p99 < 100 ms).
--asgi runs uvicorn workers instead, for comparison: under ASGI every sync request runs in its own thread,
so each webhook opens a DB connection that the bare view never needs (why production serves HTTP by WSGI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time

import httpx

from bench import _sms

PORT = int(os.environ.get("SMS_BENCH_PORT", "8141"))
# Customers in conversation: the warm-up's first message from each opens their ticket, the timed
# webhooks then thread into it (a crisis line's steady state: people answering and following up).
SENDERS = 200


async def hammer(
    url: str, bodies: list[tuple[dict, dict] | None], concurrency: int
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
                t0 = time.perf_counter()
                if item is None:
                    response = await client.get(url)
                else:
                    data, headers = item
                    response = await client.post(url, data=data, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--asgi", action="store_true", help="uvicorn workers (ASGI) instead of the production gthread WSGI"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per WSGI worker")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    base = f"http://127.0.0.1:{PORT}"
    db_url = _sms.database_url()
    env = _sms.child_env(db_url, public_url=base, sms_gateway="channels_app.console.gateway.ConsoleGateway")
    _sms.fresh_database(db_url)
    _sms.purge(env["REDIS_URL"])
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(_sms.AUTH_TOKEN)
    path = "/webhooks/twilio/sms/"
    webhooks = []
    for i in range(args.requests + 200):
        data = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": _sms.ACCOUNT_SID,
            "From": f"+1415{7000000 + i % SENDERS:07d}",
            "To": _sms.OUR_NUMBER,
            "Body": "I need help — کمک لازم دارم",
            "NumMedia": "0",
        }
        webhooks.append((data, {"X-Twilio-Signature": validator.compute_signature(base + path, data)}))

    if not args.asgi:
        # Threads are reused, so each keeps its database connection across requests.
        cmd = [sys.executable, "-m", "gunicorn", "helpdesk.wsgi:application"]
        cmd += ["-k", "gthread", "--threads", str(args.threads)]
        env["DATABASE_CONN_MAX_AGE"] = "60"
    else:
        cmd = [sys.executable, "-m", "gunicorn", "helpdesk.asgi:application"]
        cmd += ["-k", "uvicorn.workers.UvicornWorker"]
    cmd += ["-w", str(args.workers), "-b", f"127.0.0.1:{PORT}", "--log-level", "warning"]
    print("server:", " ".join(cmd[2:]))
    server = _sms.start(cmd, env)
    try:
        _sms.wait_http(base + "/healthz")
        # Warm both workers and their database connections.
        asyncio.run(hammer(base + "/healthz", [None] * 200, args.concurrency))
        asyncio.run(hammer(base + path, webhooks[:200], args.concurrency))
        bare_s, bare_lat, bare_err = asyncio.run(
            hammer(base + "/healthz", [None] * args.requests, args.concurrency)
        )
        hook_s, hook_lat, hook_err = asyncio.run(hammer(base + path, webhooks[200:], args.concurrency))
    finally:
        _sms.stop(server)
        _sms.purge(env["REDIS_URL"])

    bare_rps, hook_rps = args.requests / bare_s, args.requests / hook_s
    ratio = hook_rps / bare_rps
    p50, p95, p99 = (_sms.percentile(hook_lat, q) * 1000 for q in (0.5, 0.95, 0.99))
    b99 = _sms.percentile(bare_lat, 0.99) * 1000
    print(f"bare view  /healthz : {bare_rps:8.0f} req/s  p99 {b99:6.1f} ms  errors {bare_err}")
    print(
        f"SMS webhook (signed): {hook_rps:8.0f} req/s  p50 {p50:5.1f} ms  p95 {p95:5.1f} ms"
        f"  p99 {p99:5.1f} ms  errors {hook_err}"
    )
    print(f"ratio webhook/bare  : {ratio:.2f}  (target >= 0.50)   p99 target < 100 ms")
    ok = ratio >= 0.5 and p99 < 100 and hook_err == 0 and bare_err == 0
    print("targets met" if ok else "TARGETS MISSED")
    if args.strict and not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
