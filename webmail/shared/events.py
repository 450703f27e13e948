"""The per-user event channel, which both the pages and the workers publish on.

Events are small dicts with a ``type`` and ids, never content: a page that
gets one re-reads what it shows. They go out on one Redis channel per user,
``<REDIS_KEY_PREFIX>:user:<user_id>``; the async view of
webmail/views/events.py subscribes to it and passes each event to the
browser as Server-Sent Events.

The types are the constants FLAGS ... STATUS below; the pages' script
(static/js/mail.js) acts on each. An ``outbox`` event's ``failed`` and
``partial`` hold the ids of operations refused, or done without messages
another client removed first.

While a stream is open it keeps a "watching" key alive, which asks the
account's worker to keep an IDLE connection open (webmail/engine/hub.py).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import redis
from django.conf import settings

from webmail.shared import outage

logger = logging.getLogger(__name__)

# Event types; each tells a page what to read again.
FLAGS = "flags"  # messages' flags changed: folder, uids
NEW = "new"  # messages arrived: folder, uids
EXPUNGED = "expunged"  # messages left the folder: folder, uids
PREVIEWS = "previews"  # messages got their preview lines: folder, uids
FOLDER = "folder"  # reload the folder's list: folder
FOLDERS = "folders"  # reload the folder tree
OUTBOX = "outbox"  # actions refused or done in part: failed, partial (ids)
STATUS = "status"  # the account's server link broke or came back
SENT = "sent"  # a message the user wrote was sent or failed: id, state
UNDOABLE = "undoable"  # an action can be undone for a while: id (its notice)
UNDONE = "undone"  # an action was undone: id, folders (re-read them)

# Long enough to survive a missed refresh; short enough that a closed tab
# frees its IDLE connection soon.
WATCH_TTL = 60
MAX_UIDS = 500

_clients: dict[tuple[str, float], redis.Redis] = {}
_clients_lock = threading.Lock()


def user_channel(user_id: int) -> str:
    """Return the Redis channel of a user's events."""
    return f"{settings.REDIS_KEY_PREFIX}:user:{user_id}"


def watching_key(account_id: int) -> str:
    """Return the Redis key that says someone has the account open."""
    return f"{settings.REDIS_KEY_PREFIX}:watching:{account_id}"


def redis_client(timeout: float = 5) -> redis.Redis:
    """Return this process's Redis client for settings.REDIS_URL.

    A blocking command (BLPOP) needs a socket timeout longer than its own.
    """
    key = (settings.REDIS_URL, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = redis.Redis.from_url(
                key[0], socket_timeout=timeout, socket_connect_timeout=2
            )
            _clients[key] = client
        return client


def publish(user_id: int, event: dict[str, Any]) -> None:
    """Send an event to the user's open pages; a Redis outage only logs.

    Events are hints: a page that missed one catches up on its next load.
    """
    if "uids" in event and len(event["uids"]) > MAX_UIDS:
        event = {k: v for k, v in event.items() if k != "uids"}
        event["type"] = FOLDER
    try:
        redis_client().publish(user_channel(user_id), json.dumps(event))
    except redis.RedisError as exc:
        outage.redis.failed("an event not published", exc)
    else:
        outage.redis.answered()


def mark_watching(account_id: int, folder_id: int | None) -> None:
    """Record (for WATCH_TTL seconds) that the account is open on a folder."""
    redis_client().set(watching_key(account_id), str(folder_id or 0), ex=WATCH_TTL)


def watched_folder(account_id: int) -> int | None:
    """Return the watched folder id (0: INBOX), or None if nobody watches."""
    return watched_value(redis_client().get(watching_key(account_id)))


def watched_value(value: bytes | str | None) -> int | None:
    """Read a watching key's value: a folder id, 0 for INBOX, None for nobody."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return 0
