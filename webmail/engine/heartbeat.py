"""The worker's heartbeat: it tells the pages which shards it serves.

A thread of each worker process writes the heartbeat key of every shard
queue it consumes (webmail.shared.heartbeat) every INTERVAL seconds, and
deletes them when the worker shuts down, so that a page can tell at once
that no worker would take its request.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

from webmail.shared.heartbeat import INTERVAL, TTL, shard_key

logger = logging.getLogger(__name__)

# Deletes each key that still holds this worker's name (another worker
# may have taken the queue over meanwhile).
_FORGET = """
for _, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then redis.call('del', key) end
end
"""


class Heartbeat:
    """The heartbeat thread of one worker process."""

    def __init__(self, queues: list[str], name: str) -> None:
        self.keys = [shard_key(queue) for queue in queues]
        self.name = name
        self.client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=INTERVAL, socket_connect_timeout=INTERVAL
        )
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop beating and delete this worker's heartbeat keys."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self.beat()
            if self._stop.wait(INTERVAL):
                break
        try:
            self.client.eval(_FORGET, len(self.keys), *self.keys, self.name)
        except redis.RedisError as exc:
            logger.warning("Could not delete the heartbeat keys: %s", exc)
        self.client.close()

    def beat(self) -> None:
        """Write the heartbeat keys."""
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key in self.keys:
                    pipe.set(key, self.name, px=int(TTL * 1000))
                pipe.execute()
        except redis.RedisError as exc:
            if not self.lost:
                logger.warning("Redis is away (heartbeat): %s", exc)
            self.lost = True
            return
        self.lost = False
