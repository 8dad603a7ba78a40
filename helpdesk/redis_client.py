"""One Redis client per process and URL, shared by every thread (redis-py's pool is thread-safe
and reopens its connections after a fork)."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30)


def get(url: str | None = None) -> redis.Redis:
    return _client(url or settings.REDIS_URL)
