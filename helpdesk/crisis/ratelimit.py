"""A token bucket in Redis shared by every worker: one atomic Lua script, Redis's own clock."""

from __future__ import annotations

from django.conf import settings

from helpdesk import redis_client

# KEYS[1] bucket; ARGV: rate per second, capacity, tokens wanted. Returns {granted, wait_ms}.
# TIME comes from Redis so workers on different machines share one clock.
_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
local wait_ms = 0
if granted < wanted then wait_ms = math.ceil((1 - (tokens - math.floor(tokens))) * 1000 / rate) end
return {granted, wait_ms}
"""


class TokenBucket:
    """`take(n)` grants up to n tokens now and says how long to wait for the next one."""

    def __init__(self, key: str, *, rate: float, burst_seconds: float = 0.5) -> None:
        self.key = f"tourniquet:bucket:{key}"
        self.rate = rate
        # A short burst keeps the long-run rate exact while letting a batch go out together.
        self.capacity = max(1.0, rate * burst_seconds)
        self._client = redis_client.get(settings.REDIS_URL)
        self._script = self._client.register_script(_TAKE)

    def take(self, wanted: int) -> tuple[int, float]:
        """Return (tokens granted, seconds to wait before asking again)."""
        if self.rate <= 0:
            return wanted, 0.0
        granted, wait_ms = self._script(keys=[self.key], args=[self.rate, self.capacity, wanted])
        return int(granted), int(wait_ms) / 1000.0

    def reset(self) -> None:
        self._client.delete(self.key)
