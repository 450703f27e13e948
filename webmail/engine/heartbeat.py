"""The worker's heartbeat: it tells the pages which shards it serves.

A thread of each worker process writes the heartbeat key of every shard
queue it consumes (webmail.shared.heartbeat) every INTERVAL seconds, and
deletes them when the worker shuts down, so that a page can tell at once
that no worker would take its request.

The same beat notices when Redis comes back after an outage (a write
fails, then succeeds; or Redis restarted and lost its data). What the
pages recorded meanwhile could not be sent to the worker, so on_redis_back
is run then, in a thread of its own, not a minute later by the beat sweep.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

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

    def __init__(
        self,
        queues: list[str],
        name: str,
        on_redis_back: Callable[[], None] | None = None,
    ) -> None:
        self.keys = [shard_key(queue) for queue in queues]
        self.name = name
        self.on_redis_back = on_redis_back
        self.client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=INTERVAL, socket_connect_timeout=INTERVAL
        )
        self.lost = False
        self.run_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        # Recoveries run one after the other, beside the beat.
        self._recovery = ThreadPoolExecutor(1, thread_name_prefix="recover")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop beating and delete this worker's heartbeat keys."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._recovery.shutdown(wait=False, cancel_futures=True)

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
        """Write the heartbeat keys; run on_redis_back if Redis came back."""
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key in self.keys:
                    pipe.set(key, self.name, px=int(TTL * 1000))
                pipe.info("server")
                answers = pipe.execute()
        except redis.RedisError as exc:
            if not self.lost:
                logger.warning("Redis is away (heartbeat): %s", exc)
            self.lost = True
            return
        run_id = str(answers[-1].get("run_id", ""))
        back = self.lost or (self.run_id is not None and run_id != self.run_id)
        self.lost = False
        self.run_id = run_id
        if back and self.on_redis_back is not None:
            logger.info("Redis is back; resuming the work that waited for it")
            self._recovery.submit(self._recover)

    def _recover(self) -> None:
        assert self.on_redis_back is not None
        try:
            self.on_redis_back()
        except Exception:
            logger.exception("Could not resume the work that waited for Redis")
