"""Outbox pushes put off until later, kept in the worker's memory.

A push that must wait (the server is away) is asked for again when its
time comes, by one thread of the worker that owns the account, rather
than sent at once as a task with a countdown: Celery holds such a task
unacknowledged in the worker until it is due, and a broker connection
lost meanwhile ends the worker (kombu fails to restore the message:
"Unrecoverable error"). The operations themselves are in the database: a
retry lost with its worker is found by the outbox sweep (and by the next
worker's start), one that could not be sent while Redis was away by the
heartbeat (webmail.engine.heartbeat).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Later:
    """Run work(account_id) once per account, when its time comes."""

    def __init__(self, work: Callable[[int], object]) -> None:
        self.work = work
        self._due: dict[int, float] = {}
        self._heap: list[tuple[float, int]] = []
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def at(self, account_id: int, delay: float) -> None:
        """Run the account's work in delay seconds (or sooner, if asked sooner)."""
        when = time.monotonic() + delay
        with self._changed:
            if account_id in self._due and self._due[account_id] <= when:
                return
            self._due[account_id] = when
            heapq.heappush(self._heap, (when, account_id))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="outbox-retries", daemon=True
                )
                self._thread.start()
            self._changed.notify()

    def pending(self) -> int:
        with self._changed:
            return len(self._due)

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._changed.wait(wait)
                when, account_id = heapq.heappop(self._heap)
                if self._due.get(account_id) != when:
                    continue  # replaced by a sooner one
                del self._due[account_id]
            try:
                self.work(account_id)
            except Exception:
                logger.exception("A put-off push of account %s failed", account_id)
