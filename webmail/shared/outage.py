"""A Redis outage in the logs: one warning when it starts, one line when it ends.

While Redis is unreachable every request fails the same way: the session
and cached values are read from the database, events are not sent, tasks
wait for the sweep. Each of those failures used to log a line, some with
a traceback, on every request. Now the first failure after Redis last
answered logs one warning, the rest go to DEBUG, and the first answer
after an outage logs that it is over. The state is per process; the
cache backend (webmail.cachepool) tells it about every cache command, and
in a worker Celery's "Couldn't ack" goes the same way (AckFailures).
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger(__name__)


class Outage:
    """Whether a service was last found down, so that each outage logs once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.down = False
        self._lock = threading.Lock()

    def failed(self, what: str, exc: BaseException | str) -> None:
        """Note that what failed because the service is unreachable."""
        with self._lock:
            first, self.down = not self.down, True
        if first:
            logger.warning(
                "%s is unreachable (%s: %s); until it answers again, "
                "its failures are logged at DEBUG only",
                self.name,
                what,
                exc,
            )
        else:
            logger.debug("%s still unreachable (%s: %s)", self.name, what, exc)

    def answered(self) -> None:
        """Note that the service answered; log the end of an outage."""
        if not self.down:
            return
        with self._lock:
            was, self.down = self.down, False
        if was:
            logger.info("%s answers again", self.name)


redis = Outage("Redis")


class AckFailures(logging.Filter):
    """Celery's "Couldn't ack" and "Couldn't reject", as part of a Redis outage.

    A worker logs one at CRITICAL, with a traceback, for every task that
    ends while Redis is away. On Celery's celery.worker.request logger
    (settings.LOGGING) this filter counts each as a failure of the outage
    instead: one warning for all of them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(("Couldn't ack", "Couldn't reject")):
            return True
        exc = record.exc_info[1] if record.exc_info else None
        redis.failed("a task not acknowledged", exc or record.getMessage())
        return False
