"""Django's Redis cache with one connection pool per process, one client per pool.

Django keeps a cache object per request context, and its Redis client makes
a new connection pool for each, so under ASGI every request opened (and
later dropped) a fresh TCP connection to Redis. Sharing one pool per URL
lets requests reuse warm connections. redis-py's pool is thread-safe and
starts afresh in a forked child. Django's client also builds a new
redis.Redis on every call; RedisCache keeps one per pool instead.

Every cache command tells webmail.shared.outage whether Redis answered, so
that an outage is logged once, not once per request.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from webmail.shared import outage

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


class _ReportingRedis(redis.Redis):
    """A client that reports Redis outages (once each) and their end."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            answer = super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except (RedisConnectionError, RedisTimeoutError) as exc:
            outage.redis.failed("the cache", exc)
            raise
        outage.redis.answered()
        return answer


class _ClientKeepingRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per pool.

    Django builds a new redis.Redis (and its table of response callbacks) on
    every cache call; the 2FA check alone makes one per request. A client is
    only a view of its pool, and as thread-safe as the pool is.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[redis.ConnectionPool, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients.setdefault(
                pool, _ReportingRedis(connection_pool=pool)
            )
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache backend with a client kept per pool."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientKeepingRedisCacheClient
