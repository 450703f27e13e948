"""Which shard queues a worker consumes right now: one heartbeat key per queue.

Every worker process writes, every INTERVAL seconds, a key for each
``imap.N`` queue it consumes (webmail.engine.heartbeat), which lives TTL
seconds; it deletes them when it shuts down. A page that is about to
wait for a worker reads the key of the account's queue first: without
it, no worker would take the request, and the page says so at once
instead of waiting out its timeout (webmail.mail.waits).
"""

from __future__ import annotations

from django.conf import settings

# Seconds between a worker's heartbeats, and how long one lasts: a worker
# killed without warning is seen as gone within TTL seconds.
INTERVAL = 1.0
TTL = 3.0


def shard_key(queue: str) -> str:
    """Return the Redis key that says a worker consumes this queue."""
    return f"{settings.REDIS_KEY_PREFIX}:worker-alive:{queue}"
