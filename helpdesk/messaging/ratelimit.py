"""Token buckets in Redis shared by every worker: one atomic Lua script, Redis's own clock.

One bucket per sending account (`channels_app.base.SendingAccount`) is shared by all its traffic:
agent replies and triage prompts (the outbox relay) and broadcasts. Replies come first: a priority
request that finds the bucket empty marks it, and until the mark passes broadcast requests are
granted nothing, so the next tokens go to the reply. A broadcast may also have a rate of its own;
`take` draws from several buckets at once and grants only what all of them allow.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from helpdesk import redis_client

# KEYS: the buckets; ARGV: wanted, priority (1/0), then rate and capacity per bucket.
# Returns {granted, wait_ms}. TIME comes from Redis so workers on different machines share a clock.
_TAKE = """
local wanted = tonumber(ARGV[1])
local priority = tonumber(ARGV[2]) == 1
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local granted = wanted
local wait_us = 0
local tokens = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local capacity = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'ts', 'prio_until')
  local have = tonumber(state[1])
  local ts = tonumber(state[2])
  local prio_until = tonumber(state[3]) or 0
  if have == nil then have = capacity; ts = now end
  have = math.min(capacity, have + (now - ts) * rate / 1000000)
  tokens[i] = have
  local usable = math.floor(have)
  if not priority and prio_until > now then
    usable = 0
    wait_us = math.max(wait_us, prio_until - now)
  end
  granted = math.min(granted, usable)
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local left = tokens[i] - granted
  local fields = {'tokens', left, 'ts', now}
  if granted < wanted then
    local need_us = math.ceil((1 - (left - math.floor(left))) * 1000000 / rate)
    wait_us = math.max(wait_us, need_us)
    if priority then
      -- Hold broadcasts back until this request has had its token (plus a little slack).
      table.insert(fields, 'prio_until'); table.insert(fields, now + need_us + 20000)
    end
  end
  redis.call('HSET', key, unpack(fields))
  redis.call('PEXPIRE', key, 60000)
end
return {granted, math.ceil(wait_us / 1000)}
"""


@dataclass(frozen=True)
class Bucket:
    name: str
    rate: float  # tokens per second; <= 0: no limit
    # A short burst keeps the long-run rate exact while letting a batch go out together.
    burst_seconds: float = 0.5

    @property
    def key(self) -> str:
        return f"tourniquet:bucket:{self.name}"

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * self.burst_seconds)


def take(buckets: Sequence[Bucket], wanted: int, *, priority: bool = False) -> tuple[int, float]:
    """Take up to `wanted` tokens from every bucket at once; return (granted, seconds to wait)."""
    limited = [b for b in buckets if b.rate > 0]
    if not limited or wanted <= 0:
        return wanted, 0.0
    if settings.SEND_RATE_LIMIT_BACKEND == "local":
        return _local_take(limited, wanted, priority=priority)
    args: list[float | int] = [wanted, 1 if priority else 0]
    for bucket in limited:
        args += [bucket.rate, bucket.capacity]
    granted, wait_ms = _script()(keys=[b.key for b in limited], args=args)
    return int(granted), int(wait_ms) / 1000.0


def reset(buckets: Sequence[Bucket]) -> None:
    """Forget the buckets' state (tests and benches start full)."""
    _local.clear()
    if settings.SEND_RATE_LIMIT_BACKEND != "local":
        redis_client.get(settings.REDIS_URL).delete(*[b.key for b in buckets])


_scripts: dict[str, object] = {}


def _script():
    url = settings.REDIS_URL
    script = _scripts.get(url)
    if script is None:
        script = _scripts[url] = redis_client.get(url).register_script(_TAKE)
    return script


class TokenBucket:
    """One bucket on its own: `take(n)` grants up to n tokens now and says how long to wait."""

    def __init__(self, key: str, *, rate: float, burst_seconds: float = 0.5) -> None:
        self.bucket = Bucket(key, rate, burst_seconds)
        self.key = self.bucket.key
        self.rate = rate
        self.capacity = self.bucket.capacity

    def take(self, wanted: int, *, priority: bool = False) -> tuple[int, float]:
        return take([self.bucket], wanted, priority=priority)

    def reset(self) -> None:
        reset([self.bucket])


# The demo has no Redis: one process, so a bucket in memory is exact (SEND_RATE_LIMIT_BACKEND=local).
_local: dict[str, list[float]] = {}
_local_lock = threading.Lock()


def _local_take(buckets: Sequence[Bucket], wanted: int, *, priority: bool) -> tuple[int, float]:
    with _local_lock:
        now = time.monotonic()
        states = []
        granted = wanted
        for bucket in buckets:
            tokens, ts = _local.get(bucket.key, [bucket.capacity, now])
            tokens = min(bucket.capacity, tokens + (now - ts) * bucket.rate)
            states.append(tokens)
            granted = min(granted, int(tokens))
        wait = 0.0
        for bucket, tokens in zip(buckets, states, strict=True):
            left = tokens - granted
            _local[bucket.key] = [left, now]
            if granted < wanted:
                wait = max(wait, (1 - (left - int(left))) / bucket.rate)
        return granted, wait
