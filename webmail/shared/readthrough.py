"""Values read on every request, kept in Redis, and still answered without it.

A cached answer saves a query per request; when Redis is unreachable the
query answers instead, so a Redis outage slows pages rather than failing
them. Dropping a cached value (after a change) is not forgiven here: a
change that could not drop the old answer must fail loudly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from redis.exceptions import RedisError

from webmail.shared import outage

T = TypeVar("T")


def read_through(key: str, compute: Callable[[], T], seconds: int) -> T:
    """Return key's cached value, or compute and cache it (None is not cached)."""
    try:
        known = cache.get(key)
    except RedisError as exc:
        outage.redis.failed("a cached value, asked of the database", exc)
        return compute()
    if known is not None:
        return known  # type: ignore[no-any-return]
    value = compute()
    try:
        cache.set(key, value, seconds)
    except RedisError as exc:
        outage.redis.failed("a value not kept in the cache", exc)
    return value


def forget_if_reachable(key: str) -> None:
    """Drop a cached value where a stale one would do no harm."""
    try:
        cache.delete(key)
    except RedisError as exc:
        outage.redis.failed(f"{key} not dropped from the cache", exc)
