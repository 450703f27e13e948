"""The event stream: a user's events, passed to the browser as Server-Sent Events.

Each open page keeps one stream; while it is open it keeps the account's
"watching" key alive (webmail.shared.events), which asks the account's
worker to keep an IDLE connection on the folder being viewed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

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
from django.utils.translation import gettext

from webmail.mail import watching
from webmail.shared.events import user_channel

logger = logging.getLogger(__name__)


def _format(event_type: str, data: str) -> bytes:
    return f"event: {event_type}\ndata: {data}\n\n".encode()


async def stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Stream the signed-in user's events as text/event-stream.

    ?account=<id> (default: the user's first account) says which account's
    IDLE connection to keep open; ?folder=<id> which folder it watches.
    """
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponseForbidden(gettext("Sign in first."))
    try:
        account_id, folder_id = await sync_to_async(watching.watch_target)(
            user, request.GET.get("account"), request.GET.get("folder")
        )
    except LookupError:
        # The same answer for another user's id as for one that does not exist.
        return HttpResponseNotFound(gettext("No such mail account."))
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
            await sync_to_async(watching.keep_watching)(account_id, folder_id)
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
                    await sync_to_async(watching.keep_watching)(account_id, folder_id)
    except (redis.RedisError, OSError) as exc:
        # Ending the stream makes the browser reconnect in a moment.
        logger.info("Event stream ended: %s", exc)
    finally:
        try:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
        except (redis.RedisError, OSError):
            pass
