"""A fixed-window counter in Django's cache: how often something happened in the current window.

Used for the limits that must hold across requests (sign-in failures, contact-form posts): with
`CACHE_URL` on Redis every process shares the count; with the local-memory cache each counts alone.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class WindowCounter:
    key: str
    limit: int
    window: int  # seconds, from the first count

    def take(self, now: float) -> int:
        """Count one (atomically) and return the count including it."""
        # The window starts at the first count; both keys expire with it.
        cache.add(self.key + ":since", now, self.window)
        cache.add(self.key + ":n", 0, self.window)
        try:
            return cache.incr(self.key + ":n")
        except ValueError:  # expired between add and incr: a new window
            cache.add(self.key + ":n", 1, self.window)
            return 1

    def allow(self, now: float) -> bool:
        """Count one; False when that goes over the limit."""
        return self.take(now) <= self.limit

    def retry_after(self, now: float) -> int:
        """Seconds until the window ends if the limit is reached; 0 while under it."""
        if cache.get(self.key + ":n", 0) < self.limit:
            return 0
        since = cache.get(self.key + ":since", now)
        remaining = since + self.window - now  # also right where the cache expires keys late
        return math.ceil(remaining) if remaining > 0 else 0

    def give_back(self) -> None:
        with contextlib.suppress(ValueError):  # expired meanwhile
            cache.decr(self.key + ":n")

    def clear(self) -> None:
        cache.delete_many([self.key + ":n", self.key + ":since"])
