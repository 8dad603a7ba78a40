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
-- tid is a global: setup() sets it in each thread's own Lua state (a chunk-level `local tid` would
-- shadow it, and every thread would send the same MessageSids).
local reqs, i = {}, 0
local counter = 0
tid = 0
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


def write_wrk_data(path: str, webhooks: list) -> None:
    from urllib.parse import urlencode

    with open(path, "w") as fh:
        for body, headers in webhooks:
            fh.write(f"{urlencode(body)}\t{headers['X-Twilio-Signature']}\n")


def run_wrk(base: str, path: str, webhooks: list, args) -> bool:
    """Alternate bare and webhook runs under wrk (2 threads, --concurrency connections), --rounds times.

    The machine's speed drifts by 10-20 % from one run to the next (other tenants, CPU boost), so one
    pair of runs gives a noisy ratio; interleaved rounds see the same drift on both sides, and the
    median of the per-round ratios is the result. Every timed webhook is new: each round gets its
    own slice of unique MessageSids (a repeated one is the cheaper duplicate path).
    """
    import shutil
    import statistics
    import subprocess
    import tempfile

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --python-clients")
    per_round = len(webhooks) // args.rounds
    common = [wrk, "-t2", f"-c{args.concurrency}", f"-d{args.seconds}s", "--latency"]
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        script = f"{tmp}/webhook.lua"
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT)
        for n in range(args.rounds):
            data = f"{tmp}/webhooks{n}.tsv"
            write_wrk_data(data, webhooks[n * per_round : (n + 1) * per_round])
            bare = parse_wrk(
                subprocess.run([*common, base + "/healthz"], capture_output=True, text=True).stdout
            )
            hook = parse_wrk(
                subprocess.run(
                    [*common, "-s", script, base + path, "--", data, "2"], capture_output=True, text=True
                ).stdout
            )
            ratio = hook["rps"] / bare["rps"] if bare["rps"] else 0.0
            rounds.append((bare, hook, ratio))
            print(
                f"round {n + 1}: bare {bare['rps']:6.0f} req/s (p99 {bare['p99']:5.1f} ms)   webhook "
                f"{hook['rps']:6.0f} req/s (p50 {hook['p50']:4.1f}, p90 {hook['p90']:4.1f}, "
                f"p99 {hook['p99']:5.1f} ms, non-2xx {hook['errors']:.0f})   ratio {ratio:.2f}"
            )
    ratio = statistics.median(r[2] for r in rounds)
    worst_p99 = max(r[1]["p99"] for r in rounds)
    errors = sum(r[1]["errors"] for r in rounds)
    print(
        f"load generator: wrk, 2 threads, {args.concurrency} connections, {args.rounds} rounds of "
        f"{args.seconds}s per side"
    )
    print(f"bare view  /healthz : median {statistics.median(r[0]['rps'] for r in rounds):6.0f} req/s")
    print(
        f"SMS webhook (signed): median {statistics.median(r[1]['rps'] for r in rounds):6.0f} req/s, "
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
        webhooks.append((data, {"X-Twilio-Signature": validator.compute_signature(base + path, data)}))

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
        asyncio.run(hammer(base + "/healthz", [None] * 200, args.concurrency))
        asyncio.run(hammer(base + path, webhooks[:200], args.concurrency))
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
    bare_s, bare_lat, bare_err = asyncio.run(
        hammer(base + "/healthz", [None] * args.requests, args.concurrency)
    )
    hook_s, hook_lat, hook_err = asyncio.run(hammer(base + path, webhooks, args.concurrency))
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
