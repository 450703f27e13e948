"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per request context, and its Redis client makes
a new connection pool for each, so under ASGI every request opened (and
later dropped) a fresh TCP connection to Redis. Sharing one pool per URL
lets requests reuse warm connections. redis-py's pool is thread-safe and
starts afresh in a forked child.
"""

from __future__ import annotations

import threading
from typing import Any

import redis

_pools: dict[tuple[str, str], redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """A ConnectionPool whose from_url hands out one pool per URL and options."""

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> SharedConnectionPool:
        key = (url, repr(sorted(kwargs.items())))
        with _lock:
            pool = _pools.get(key)
            if pool is None:
                pool = super().from_url(url, **kwargs)
                _pools[key] = pool
            return pool  # type: ignore[return-value]
