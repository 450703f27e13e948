"""How a message part travels from the worker to a page: a Redis list per download.

The web process never talks IMAP and never holds a whole attachment, and
the worker may run on another host. So a page asks the account's worker to
stream parts onto a fresh Redis key, and reads that key as a list while
the worker fills it: one element per chunk of at most CHUNK bytes, each a
kind byte and a payload:

- ``m`` JSON about the part whose bytes follow (type, file name, size)
- ``d`` bytes of that part, decoded
- ``e`` the end
- ``x`` JSON error: ``code`` (one of the ERROR_* values) and ``message``

Backpressure: the reader pushes a token onto ``<key>:ack`` for every element
it takes, and the worker lets at most WINDOW elements wait unread, so a slow
download slows the IMAP fetch rather than filling Redis. A reader that goes
away pushes STOP (or stops taking), and the worker gives up. The worker's
end is webmail.engine.parts, the page's webmail.mail.parts.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import redis
from django.conf import settings

CHUNK = 256 * 1024

# Elements the worker may push ahead of the reader.
WINDOW = 4

# Seconds the worker waits for the reader to take an element, and the
# reader for the next element, before either gives up.
IDLE_LIMIT = 60

KEY_TTL = IDLE_LIMIT * 2

STOP = b"stop"

ERROR_MISSING = "missing"

ERROR_UNAVAILABLE = "unavailable"

ERROR_TIMEOUT = "timeout"

_clients: dict[str, redis.Redis] = {}

_clients_lock = threading.Lock()


class PartError(Exception):
    """A part could not be streamed; code is one of the ERROR_* values."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def client() -> redis.Redis:
    """Return this process's Redis client for part streams.

    Its blocking pops outlast events.redis_client()'s socket timeout.
    """
    url = settings.REDIS_URL
    with _clients_lock:
        found = _clients.get(url)
        if found is None:
            longest = max(IDLE_LIMIT, int(settings.BODY_FETCH_TIMEOUT))
            found = redis.Redis.from_url(
                url, socket_timeout=longest + 10, socket_connect_timeout=2
            )
            _clients[url] = found
        return found


def ack_key(key: str) -> str:
    """Return the key on which the reader acknowledges what it took."""
    return key + ":ack"


def split(element: bytes | str) -> tuple[str, Any]:
    """Return (kind, payload) of an element; PartError for an error element."""
    if isinstance(element, str):
        element = element.encode()
    kind, payload = element[:1], element[1:]
    if kind == b"d":
        return "data", payload
    if kind == b"m":
        return "part", json.loads(payload)
    if kind == b"e":
        return "end", None
    error = json.loads(payload) if kind == b"x" else {}
    raise PartError(
        str(error.get("code", ERROR_UNAVAILABLE)),
        str(error.get("message", "The part could not be loaded.")),
    )
