"""Work a page request may leave until its answer has gone out.

A change the user makes is in the database when the view returns; asking
the account's worker to push it to the server (a Celery message, about a
millisecond of work) need not delay the answer. In the page threads
(webmail/serving.py) the answer is handed to the event loop before the
response is closed, so work run at the close no longer keeps the user
waiting. Elsewhere (tests, the ASGI handler, Celery workers) it runs at once.
If the process dies in between, the outbox sweep finds the operation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db import close_old_connections

logger = logging.getLogger(__name__)

Task = Callable[[], object]

_local = threading.local()


def run_after_response(task: Task) -> None:
    """Run task once this thread's page answer has gone out, else now."""
    pending: list[Task] | None = getattr(_local, "pending", None)
    if pending is None:
        task()
    else:
        pending.append(task)


def _run_pending() -> None:
    pending: list[Task] = getattr(_local, "pending", None) or []
    _local.pending = None
    for task in pending:
        try:
            task()
        except Exception:
            logger.exception("Work left for after a response failed")
    if pending:
        # A connection the work opened after the request had let go of its
        # own follows the request's rules (CONN_MAX_AGE, the pool's slot).
        close_old_connections()


class _ClosingBody:
    """A WSGI body that runs the request's left-over work when closed."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    @property
    def streaming(self) -> bool:
        """Whether the body comes in pieces over time (else it is all there)."""
        return bool(getattr(self.body, "streaming", True))

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            _run_pending()


def wsgi_with_work_after(app: Callable[..., Iterable[bytes]]) -> Callable[..., Any]:
    """Wrap a WSGI app so that run_after_response waits for the answer."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        _run_pending()  # left by a response the server never closed
        _local.pending = []
        try:
            return _ClosingBody(app(environ, start_response))
        except BaseException:
            _run_pending()
            raise

    return wrapped
