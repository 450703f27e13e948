"""Events for open webmail pages: publishing them, and streaming them (SSE).

Events are small dicts with a ``type`` and ids, never content: a page that
gets one re-reads what it shows. They go out on one Redis channel per user,
``<REDIS_KEY_PREFIX>:user:<user_id>``; the async ``stream`` view subscribes
to it and passes each event to the browser as Server-Sent Events.

Types: ``flags``, ``new`` and ``expunged`` (with ``folder`` and ``uids``),
``folder`` (reload that folder's list), ``folders`` (reload the folder
tree), ``outbox`` (an action failed: ``failed`` holds operation ids),
``status`` (the account's server link broke or came back).

While a stream is open it keeps a "watching" key alive, which asks the
account's worker to keep an IDLE connection open (webmail/push.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotFound,
    StreamingHttpResponse,
)

logger = logging.getLogger(__name__)

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
        event["type"] = "folder"
    try:
        redis_client().publish(user_channel(user_id), json.dumps(event))
    except redis.RedisError as exc:
        logger.warning("Could not publish an event: %s", exc)


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


# The stream ------------------------------------------------------------------


def _format(event_type: str, data: str) -> bytes:
    return f"event: {event_type}\ndata: {data}\n\n".encode()


async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Stream the signed-in user's events as text/event-stream.

    ?account=<id> (default: the user's first account) says which account's
    IDLE connection to keep open; ?folder=<id> which folder it watches.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponseForbidden("Sign in first.")
    from webmail import mailbox

    try:
        account_id, folder_id = await sync_to_async(mailbox.watch_target)(
            user, request.GET.get("account"), request.GET.get("folder")
        )
    except LookupError:
        # The same answer for another user's id as for one that does not exist.
        return HttpResponseNotFound("No such mail account.")
    response = StreamingHttpResponse(
        _events(int(user.pk), account_id, folder_id),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(
    user_id: int, account_id: int | None, folder_id: int | None
) -> AsyncIterator[bytes]:
    from webmail import mailbox

    # A stream lasts as long as its page is open: it must not hold a
    # database connection (a slot of the pool) all that time. Closed here,
    # not in the view, because the middleware that runs after the view may
    # query too (saving a changed session).
    await sync_to_async(connections.close_all)()
    keepalive = float(settings.EVENTS_KEEPALIVE)
    client = aioredis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub()
    # The browser reconnects after this many milliseconds if the stream ends.
    yield b"retry: 3000\n\n"
    try:
        await pubsub.subscribe(user_channel(user_id))
        if account_id is not None:
            await sync_to_async(mailbox.keep_watching)(account_id, folder_id)
        loop = asyncio.get_running_loop()
        refreshed = loop.time()
        while True:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=keepalive
            )
            if message is not None and message.get("type") == "message":
                data = message["data"]
                text = data.decode() if isinstance(data, bytes) else str(data)
                try:
                    event_type = str(json.loads(text).get("type", "message"))
                except (ValueError, AttributeError):
                    continue
                yield _format(event_type, text)
            if loop.time() - refreshed >= keepalive:
                refreshed = loop.time()
                yield b": keep-alive\n\n"
                if account_id is not None:
                    await sync_to_async(mailbox.keep_watching)(account_id, folder_id)
    except (redis.RedisError, OSError) as exc:
        # Ending the stream makes the browser reconnect in a moment.
        logger.info("Event stream ended: %s", exc)
    finally:
        try:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
        except (redis.RedisError, OSError):
            pass
