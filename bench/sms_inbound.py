"""Inbound SMS webhooks against the production server, relative to a bare Django view.

    python -m bench.sms_inbound [--rounds 5] [--seconds 5] [--concurrency 16] [--strict]
    python -m bench.sms_inbound --python-clients [--requests 3000]   (no wrk on the machine)

Starts the production HTTP server (`gunicorn -c python:helpdesk.gunicorn`: gthread WSGI, webhooks
through the lean door of helpdesk/messaging/door.py) with DJANGO_DEBUG=0 on a fresh PostgreSQL database
(SMS_BENCH_DATABASE_URL, default <DATABASE_URL server>/tourniquet_sms_bench), port SMS_BENCH_PORT
(8141). A warm-up opens the tickets of 200 senders; then wrk with 16 connections alternates runs
against /healthz (the bare view: the baseline) and runs posting new signed Twilio webhooks (signatures
computed beforehand), so each timed webhook verifies, stores one inbox row and wakes the drain
(no Celery worker runs: the bench measures what the web server does). Reports per-round and median
requests/s, the median ratio webhook/bare (target >= 0.5) and webhook p50/p90/p99 (target p99 < 100 ms
in every round). --asgi runs uvicorn workers instead, for comparison.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from urllib.parse import urlencode

from bench import _load, _sms

PORT = int(os.environ.get("SMS_BENCH_PORT", "8141"))
# Customers in conversation: the warm-up's first message from each opens their ticket, the timed
# webhooks then thread into it (a crisis line's steady state: people answering and following up).
SENDERS = 200


def run_wrk(base: str, path: str, webhooks: list, args) -> bool:
    """Alternate bare and webhook runs under wrk; the median of the per-round ratios is the result."""
    rounds = _load.wrk_rounds(
        base, path, webhooks, rounds=args.rounds, seconds=args.seconds, concurrency=args.concurrency,
        label="webhook",
    )  # fmt: skip
    ratio = _load.median(r[2] for r in rounds)
    worst_p99 = max(r[1]["p99"] for r in rounds)
    errors = sum(r[1]["errors"] for r in rounds)
    print(f"bare view  /healthz : median {_load.median(r[0]['rps'] for r in rounds):6.0f} req/s")
    print(
        f"SMS webhook (signed): median {_load.median(r[1]['rps'] for r in rounds):6.0f} req/s, "
        f"p99 worst round {worst_p99:.1f} ms, non-2xx {errors:.0f}"
    )
    print(f"ratio webhook/bare  : median {ratio:.2f}  (target >= 0.50)   p99 target < 100 ms")
    return ratio >= 0.5 and worst_p99 < 100 and errors == 0


def main() -> None:
    import shutil

    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000, help="requests per side with --python-clients")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--asgi", action="store_true", help="uvicorn workers (ASGI) instead of the production gthread WSGI"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn processes (default: helpdesk/gunicorn.py)"
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="threads per WSGI worker (default: as production)"
    )
    parser.add_argument(
        "--python-clients",
        action="store_true",
        help="16 httpx clients in this process instead of wrk; on a 2-core machine their CPU competes with "
        "the server's, which caps the bare view and inflates every latency",
    )
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/webhook wrk rounds")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    use_wrk = not args.python_clients
    if use_wrk and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or pass --python-clients")

    base = f"http://127.0.0.1:{PORT}"
    db_url = _sms.database_url()
    env = _sms.child_env(db_url, public_url=base, sms_gateway="channels_app.console.gateway.ConsoleGateway")
    _sms.fresh_database(db_url)
    _sms.purge(env["REDIS_URL"])
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(_sms.AUTH_TOKEN)
    path = "/webhooks/twilio/sms/"
    webhooks = []
    # Under wrk every timed webhook must be new (a repeated MessageSid is the cheaper duplicate path):
    # enough for 8,000 webhooks/s in every round (faster than the bare view on this machine).
    total = 200 + (8000 * args.seconds * args.rounds if use_wrk else args.requests)
    for i in range(total):
        data = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": _sms.ACCOUNT_SID,
            "From": f"+1415{7000000 + i % SENDERS:07d}",
            "To": _sms.OUR_NUMBER,
            "Body": "I need help — کمک لازم دارم",
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(base + path, data),
        }
        webhooks.append((urlencode(data).encode(), headers))

    # The production server and its settings (helpdesk/gunicorn.py); --asgi only swaps the worker.
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:helpdesk.gunicorn"]
    if args.asgi:
        cmd += ["-k", "uvicorn.workers.UvicornWorker", "helpdesk.asgi:application"]
    else:
        # Threads are reused, so each keeps its database connection across requests.
        env["DATABASE_CONN_MAX_AGE"] = "60"
    if args.workers:
        cmd += ["-w", str(args.workers)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += ["-b", f"127.0.0.1:{PORT}", "--log-level", "warning"]
    print("server: gunicorn", " ".join(cmd[3:]))
    server = _sms.start(cmd, env)
    try:
        _sms.wait_http(base + "/healthz")
        # Warm every worker and its database connections; the senders' tickets open here.
        _load.hammer(base + "/healthz", [None] * 200, args.concurrency)
        _load.hammer(base + path, webhooks[:200], args.concurrency)
        if use_wrk:
            ok = run_wrk(base, path, webhooks[200:], args)
        else:
            ok = run_python_clients(base, path, webhooks[200:], args)
    finally:
        _sms.stop(server)
        _sms.purge(env["REDIS_URL"])
    print("targets met" if ok else "TARGETS MISSED")
    if args.strict and not ok:
        raise SystemExit(1)


def run_python_clients(base: str, path: str, webhooks: list, args) -> bool:
    bare_s, bare_lat, bare_err = _load.hammer(base + "/healthz", [None] * args.requests, args.concurrency)
    hook_s, hook_lat, hook_err = _load.hammer(base + path, webhooks, args.concurrency)
    bare_rps, hook_rps = args.requests / bare_s, len(webhooks) / hook_s
    ratio = hook_rps / bare_rps
    p50, p95, p99 = (_sms.percentile(hook_lat, q) * 1000 for q in (0.5, 0.95, 0.99))
    b99 = _sms.percentile(bare_lat, 0.99) * 1000
    print(f"load generator: {args.concurrency} httpx clients in one Python process")
    print(f"bare view  /healthz : {bare_rps:8.0f} req/s  p99 {b99:6.1f} ms  errors {bare_err}")
    print(
        f"SMS webhook (signed): {hook_rps:8.0f} req/s  p50 {p50:5.1f} ms  p95 {p95:5.1f} ms"
        f"  p99 {p99:5.1f} ms  errors {hook_err}"
    )
    print(f"ratio webhook/bare  : {ratio:.2f}  (target >= 0.50)   p99 target < 100 ms")
    return ratio >= 0.5 and p99 < 100 and hook_err == 0 and bare_err == 0


if __name__ == "__main__":
    main()
