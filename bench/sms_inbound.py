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


WRK_SCRIPT = """
local reqs, i, tid = {}, 0, 0
local counter = 0
setup = function(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
init = function(args)
  local n, threads = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if n % threads == tid then
      local body, sig = line:match("([^\t]*)\t(.*)")
      reqs[#reqs + 1] = wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = sig}, body)
    end
    n = n + 1
  end
end
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
"""


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) from `wrk --latency` output."""
    import re

    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    found: dict[str, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE):
        found[f"p{pct}"] = float(value) * units[unit]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    found["rps"] = float(rps.group(1)) if rps else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["errors"] = float(errors.group(1)) if errors else 0.0
    return found


def run_wrk(base: str, path: str, webhooks: list, args) -> None:
    """Both runs under wrk: 2 threads, --concurrency connections, unique signed webhooks."""
    import shutil
    import subprocess
    import tempfile
    from urllib.parse import urlencode

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory() as tmp:
        script, data = f"{tmp}/webhook.lua", f"{tmp}/webhooks.tsv"
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT)
        with open(data, "w") as fh:
            for body, headers in webhooks:
                fh.write(f"{urlencode(body)}\t{headers['X-Twilio-Signature']}\n")
        common = [wrk, "-t2", f"-c{args.concurrency}", f"-d{args.seconds}s", "--latency"]
        bare = parse_wrk(subprocess.run([*common, base + "/healthz"], capture_output=True, text=True).stdout)
        hook = parse_wrk(
            subprocess.run(
                [*common, "-s", script, base + path, "--", data, "2"], capture_output=True, text=True
            ).stdout
        )
    ratio = hook["rps"] / bare["rps"] if bare["rps"] else 0.0
    print(f"load generator: wrk, 2 threads, {args.concurrency} connections, {args.seconds}s each")
    print(
        f"bare view  /healthz : {bare['rps']:8.0f} req/s  p50 {bare['p50']:5.1f} ms"
        f"  p99 {bare['p99']:6.1f} ms"
    )
    print(
        f"SMS webhook (signed): {hook['rps']:8.0f} req/s  p50 {hook['p50']:5.1f} ms"
        f"  p90 {hook['p90']:5.1f} ms  p99 {hook['p99']:5.1f} ms  non-2xx {hook['errors']:.0f}"
    )
    print(f"ratio webhook/bare  : {ratio:.2f}  (target >= 0.50)   p99 target < 100 ms")
    ok = ratio >= 0.5 and hook["p99"] < 100 and hook["errors"] == 0
    print("targets met" if ok else "TARGETS MISSED")
    if args.strict and not ok:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--asgi", action="store_true", help="uvicorn workers (ASGI) instead of the production gthread WSGI"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per WSGI worker")
    parser.add_argument(
        "--wrk",
        action="store_true",
        help="drive the load with wrk (C, Debian package) instead of Python clients, whose CPU competes "
        "with the server on a small machine",
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
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
    # Under wrk every timed webhook must be new (a repeated MessageSid is the cheaper duplicate path):
    # enough for 4,000 webhooks/s over the whole run.
    total = 200 + (max(args.requests, 4000 * args.seconds) if args.wrk else args.requests)
    for i in range(total):
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
        cmd = [sys.executable, "-m", "gunicorn", os.environ.get("BENCH_WSGI", "helpdesk.wsgi:application")]
        cmd += ["-k", "gthread", "--threads", str(args.threads)]
        env["DATABASE_CONN_MAX_AGE"] = "60"
    else:
        cmd = [sys.executable, "-m", "gunicorn", "helpdesk.asgi:application"]
        cmd += ["-k", "uvicorn.workers.UvicornWorker"]
    cmd += ["-w", str(args.workers), "-b", f"127.0.0.1:{PORT}", "--log-level", "warning"]
    cmd += os.environ.get("BENCH_EXTRA", "").split()
    print("server:", " ".join(cmd[2:]))
    server = _sms.start(cmd, env)
    if args.wrk:
        try:
            _sms.wait_http(base + "/healthz")
            asyncio.run(hammer(base + "/healthz", [None] * 200, args.concurrency))
            asyncio.run(hammer(base + path, webhooks[:200], args.concurrency))
            run_wrk(base, path, webhooks[200:], args)
        finally:
            _sms.stop(server)
            _sms.purge(env["REDIS_URL"])
        return
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
