"""A page's wait for a body from the worker: whether it may start, and the reply.

Before a page asks a worker for a body and waits, it checks that a worker
consumes the account's shard queue (its heartbeat key,
webmail.shared.heartbeat); with none, the page says so at once instead
of waiting out its timeout.

The worker pushes the body onto a Redis list named for the wait alone;
a blocking pop takes it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

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


class Refused(Exception):
    """The page must not wait; the reason is the error to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Wait:
    """One page's wait for a body."""

    token: str
    deadline: float  # a time.time()

    @property
    def reply_key(self) -> str:
        return reply_key(self.token)


def reply_key(token: str) -> str:
    """Return the Redis list the worker pushes the body of a wait onto."""
    return f"{settings.REDIS_KEY_PREFIX}:body-reply:{token}"


def begin(account_id: int, timeout: float) -> Wait:
    """Start a wait of up to timeout seconds; Refused if no worker would answer.

    Redis errors go up: the caller says the mail service is busy.
    """
    if not reply_client().exists(shard_key(queue_for(account_id))):
        raise Refused(NO_WORKER)
    return Wait(uuid.uuid4().hex, time.time() + timeout)


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


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
