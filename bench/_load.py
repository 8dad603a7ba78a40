"""Load generators shared by the webhook benches: wrk (a second process, alternating rounds against
the bare view) and, where wrk is missing, httpx clients in this process.

A request is None (GET the URL) or (body bytes, headers): the body is posted as it is, so a Twilio
form and a raw mail go the same way.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import tempfile
import time

import httpx

Request = tuple[bytes, dict[str, str]] | None


async def _hammer(url: str, requests: list[Request], concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(requests))
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
                    body, headers = item
                    response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - began)
                if not 200 <= response.status_code < 300:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - began, latencies, errors


def hammer(url: str, requests: list[Request], concurrency: int) -> tuple[float, list[float], int]:
    """Send every request over `concurrency` connections; (seconds, latencies, non-2xx answers)."""
    return asyncio.run(_hammer(url, requests, concurrency))


# Each line of the data file is one request: its headers and body, with % and every control byte
# escaped as %XX (a raw mail spans lines; a NUL in one cut wrk's copy of the line short). tid is a
# global: setup() sets it in each thread's own Lua state (a chunk-level `local tid` would shadow it,
# and every thread would send the same requests).
WRK_SCRIPT = r"""
local reqs, i = {}, 0
local counter = 0
tid = 0
setup = function(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
init = function(args)
  local n, threads = 0, tonumber(args[2])
  for line in io.lines(args[1]) do
    if n % threads == tid then
      local fields = {}
      for field in (line .. "\t"):gmatch("([^\t]*)\t") do fields[#fields + 1] = unescape(field) end
      local headers = {}
      for k = 1, #fields - 1, 2 do
        if k + 1 < #fields then headers[fields[k]] = fields[k + 1] end
      end
      reqs[#reqs + 1] = wrk.format("POST", nil, headers, fields[#fields])
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


def _escape(data: bytes) -> str:
    return re.sub(rb"[%\x00-\x1f\x7f]", lambda m: b"%%%02X" % m.group()[0], data).decode("latin-1")


def write_wrk_data(path: str, requests: list[tuple[bytes, dict[str, str]]]) -> None:
    with open(path, "w", encoding="latin-1") as fh:
        for body, headers in requests:
            fields = [part for pair in headers.items() for part in pair]
            fh.write("\t".join([*(_escape(f.encode()) for f in fields), _escape(body)]) + "\n")


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) from `wrk --latency` output."""
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    found: dict[str, float] = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE):
        found[f"p{pct}"] = float(value) * units[unit]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    found["rps"] = float(rps.group(1)) if rps else 0.0
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    found["errors"] = float(errors.group(1)) if errors else 0.0
    return found


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk_rounds(
    base: str, path: str, requests: list, *, rounds: int, seconds: int, concurrency: int, label: str
) -> list[tuple[dict, dict, float]]:
    """Alternate bare (/healthz) and `path` runs under wrk (2 threads), `rounds` times; print each.

    The machine's speed drifts by 10-20 % from one run to the next (other tenants, CPU boost), so one
    pair of runs gives a noisy ratio; interleaved rounds see the same drift on both sides, and the
    median of the per-round ratios is the result. Each round posts its own slice of `requests`
    (a repeated provider id is the cheaper duplicate path). Returns (bare, posted, ratio) per round."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --python-clients")
    per_round = len(requests) // rounds
    common = [wrk, "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency"]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        script = f"{tmp}/post.lua"
        with open(script, "w") as fh:
            fh.write(WRK_SCRIPT)
        for n in range(rounds):
            data = f"{tmp}/requests{n}.tsv"
            write_wrk_data(data, requests[n * per_round : (n + 1) * per_round])
            bare = parse_wrk(
                subprocess.run([*common, base + "/healthz"], capture_output=True, text=True).stdout
            )
            hook = parse_wrk(
                subprocess.run(
                    [*common, "-s", script, base + path, "--", data, "2"], capture_output=True, text=True
                ).stdout
            )
            ratio = hook["rps"] / bare["rps"] if bare["rps"] else 0.0
            results.append((bare, hook, ratio))
            print(
                f"round {n + 1}: bare {bare['rps']:6.0f} req/s (p99 {bare['p99']:5.1f} ms)   {label} "
                f"{hook['rps']:6.0f} req/s (p50 {hook['p50']:4.1f}, p90 {hook['p90']:4.1f}, "
                f"p99 {hook['p99']:5.1f} ms, non-2xx {hook['errors']:.0f})   ratio {ratio:.2f}"
            )
    print(
        f"load generator: wrk, 2 threads, {concurrency} connections, {rounds} rounds of {seconds}s per side"
    )
    return results


def median(values) -> float:
    return statistics.median(list(values))
