"""A page's wait for a body from the worker: allowed or not, and the reply.

Before a page asks a worker for a body and waits, it checks two things,
in one Redis round trip:

- that a worker consumes the account's shard queue (its heartbeat key,
  webmail.shared.heartbeat); with none, the page says so at once;
- that the user has fewer than BODY_WAITS_PER_USER waits under way. Each
  wait is a member of a sorted set per user, scored by its deadline, so
  that a wait whose request died ends with its deadline, without leaking.

The worker pushes the body onto a Redis list named for the wait alone;
a blocking pop takes it. A page thread takes it only if it comes at once
(take()); later, an async view takes it (atake()), which holds no
thread of the page pool while it waits.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.utils.translation import gettext_noop

from webmail.shared.bodycache import WAIT_SLICE, reply_client
from webmail.shared.heartbeat import shard_key
from webmail.shared.routing import queue_for

# What the reader is told (in English here, translated when shown).
NO_WORKER = gettext_noop(
    "No mail worker is running for this account, so the message cannot be "
    "loaded now. Try again in a few minutes."
)
TOO_MANY = gettext_noop("Too many messages are loading at once; try again in a moment.")


class Refused(Exception):
    """The page must not wait; the reason is the error to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Wait:
    """One page's wait for a body: its token, and how many others were under way."""

    user_id: int
    token: str
    deadline: float  # a time.time()
    others: int = 0

    @property
    def reply_key(self) -> str:
        return reply_key(self.token)


def reply_key(token: str) -> str:
    """Return the Redis list the worker pushes the body of a wait onto."""
    return f"{settings.REDIS_KEY_PREFIX}:body-reply:{token}"


def _waits_key(user_id: int) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:body-waits:{user_id}"


def begin(user_id: int, account_id: int, timeout: float) -> Wait:
    """Start a wait of up to timeout seconds; Refused if it may not start.

    Redis errors go up: the caller says the mail service is busy.
    """
    now = time.time()
    wait = Wait(user_id, uuid.uuid4().hex, now + timeout)
    key = _waits_key(user_id)
    client = reply_client()
    with client.pipeline(transaction=True) as pipe:
        pipe.exists(shard_key(queue_for(account_id)))
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {wait.token: wait.deadline})
        pipe.zcard(key)
        pipe.expire(key, int(timeout) + 60)
        alive, _, _, count, _ = pipe.execute()
    if alive and count <= int(settings.BODY_WAITS_PER_USER):
        return Wait(user_id, wait.token, wait.deadline, others=int(count) - 1)
    client.zrem(key, wait.token)
    raise Refused(TOO_MANY if alive else NO_WORKER)


def end(wait: Wait) -> None:
    """Count a wait as over."""
    with contextlib.suppress(redis.RedisError):
        reply_client().zrem(_waits_key(wait.user_id), wait.token)


def take(wait: Wait, timeout: float) -> bytes | None:
    """Pop the worker's reply within timeout seconds (and the wait's deadline)."""
    until = min(time.time() + timeout, wait.deadline)
    client = reply_client()
    # Not down to 0: to BLPOP, a timeout of 0 means waiting for ever.
    while (left := until - time.time()) > 0.01:
        got = client.blpop([wait.reply_key], timeout=min(left, WAIT_SLICE))
        if got is not None:
            return _bytes(got[1])
    return None


async def atake(user_id: int, token: str) -> bytes | None:
    """take() in an async view, for the rest of the user's wait token.

    None when no reply came by its deadline, or the token is not one of
    the user's waits (any more). The wait is over afterwards.
    """
    client = aioredis.from_url(
        settings.REDIS_URL, socket_timeout=WAIT_SLICE + 5, socket_connect_timeout=2
    )
    key = _waits_key(user_id)
    try:
        deadline = await client.zscore(key, token)
        if deadline is None:
            return None
        while (left := deadline - time.time()) > 0.01:
            got = await client.blpop([reply_key(token)], timeout=min(left, WAIT_SLICE))
            if got is not None:
                return _bytes(got[1])
        return None
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            await client.zrem(key, token)
        with contextlib.suppress(redis.RedisError, OSError):
            await client.aclose()


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
