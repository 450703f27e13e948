"""The verbs for downloading and previewing message parts, streamed from the worker.

The page asks the account's worker for parts (webmail.door) and reads
them from a Redis list as the worker fills it (webmail.shared.partstream),
so no process holds a whole attachment.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings

from webmail import door
from webmail.shared.partstream import (
    ERROR_TIMEOUT,
    ERROR_UNAVAILABLE,
    IDLE_LIMIT,
    KEY_TTL,
    STOP,
    PartError,
    ack_key,
    client,
    split,
)

logger = logging.getLogger(__name__)

# Types a browser shows without running anything. SVG and HTML can carry
# scripts, so they always download. PDFs show in the browser's own viewer,
# which runs under the sandbox policy (views/parts.py, PDF_POLICY).
INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

PDF = "application/pdf"

PREVIEW_TYPES = INLINE_IMAGES | {"text/plain", PDF}

# Senders often label a PDF as bytes of no particular type.
_UNTYPED = "application/octet-stream"

_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/html": "html",
    "text/calendar": "ics",
    "message/rfc822": "eml",
}


def preview_type(content_type: str, filename: str = "") -> str | None:
    """Return the type to show a part as in the browser, or None to download.

    An untyped part named ``*.pdf`` shows as a PDF.
    """
    content_type = content_type.lower()
    if content_type in PREVIEW_TYPES:
        return content_type
    if content_type == _UNTYPED and filename.lower().endswith(".pdf"):
        return PDF
    return None


def previewable(content_type: str, filename: str = "") -> bool:
    """Return whether a part may be shown in the browser."""
    return preview_type(content_type, filename) is not None


def extension_for(content_type: str) -> str:
    """Return a file name extension for a part that has no name."""
    return _EXTENSIONS.get(content_type.lower(), "bin")


@dataclass
class PartStream:
    """The web end of one stream; ``first`` describes the first part."""

    key: str
    first: dict[str, Any]

    async def elements(self) -> AsyncGenerator[tuple[str, Any], None]:
        """Yield ("part", info) before each part's ("data", bytes) chunks.

        Raises PartError when the worker reports an error or goes silent;
        once the response has started, that aborts the download.
        """
        reader = aioredis.from_url(
            settings.REDIS_URL,
            socket_timeout=IDLE_LIMIT + 10,
            socket_connect_timeout=2,
        )
        finished = False
        try:
            yield "part", self.first
            while True:
                got = await reader.blpop([self.key], timeout=IDLE_LIMIT)
                if got is None:
                    raise PartError(ERROR_TIMEOUT, "The mail server stopped sending.")
                async with reader.pipeline(transaction=False) as pipe:
                    pipe.rpush(ack_key(self.key), b"1")
                    pipe.expire(ack_key(self.key), KEY_TTL)
                    await pipe.execute()
                kind, payload = split(got[1])
                if kind == "end":
                    finished = True
                    return
                yield kind, payload
        finally:
            try:
                if not finished:
                    await reader.lpush(ack_key(self.key), STOP)
                    await reader.expire(ack_key(self.key), KEY_TTL)
                else:
                    await reader.delete(self.key, ack_key(self.key))
                await reader.aclose()
            except (redis.RedisError, OSError):
                pass

    def cancel(self) -> None:
        """Tell the worker that nobody will read the rest."""
        try:
            reader = client()
            reader.lpush(ack_key(self.key), STOP)
            reader.expire(ack_key(self.key), KEY_TTL)
        except redis.RedisError:
            pass

    async def data(self) -> AsyncGenerator[bytes, None]:
        """Yield the bytes of the stream's parts."""
        # Closed at once with this generator, so the worker hears STOP.
        async with contextlib.aclosing(self.elements()) as elements:
            async for kind, payload in elements:
                if kind == "data":
                    yield payload


def open_stream(
    account_id: int, folder_id: int, uid: int, sections: Sequence[str]
) -> PartStream:
    """Ask the account's worker to stream parts; wait for the first to start.

    Raises PartError if the worker reports an error or does not start
    within BODY_FETCH_TIMEOUT seconds.
    """
    key = f"{settings.REDIS_KEY_PREFIX}:part:{uuid.uuid4().hex}"
    wait = int(settings.BODY_FETCH_TIMEOUT)
    try:
        # A download nobody waits for any more is not started.
        door.stream_parts(account_id, folder_id, uid, list(sections), key, wait)
    except Exception as exc:  # the broker is unreachable
        logger.warning("Could not queue a part stream: %s", exc)
        raise PartError(ERROR_UNAVAILABLE, "The mail service is busy.") from exc
    try:
        got = client().blpop([key], timeout=wait)
        if got is not None:
            with client().pipeline(transaction=False) as pipe:
                pipe.rpush(ack_key(key), b"1")
                pipe.expire(ack_key(key), KEY_TTL)
                pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Could not start a part stream: %s", exc)
        raise PartError(ERROR_UNAVAILABLE, "The mail service is busy.") from exc
    if got is None:
        raise PartError(ERROR_TIMEOUT, "The mail server is slow to answer.")
    kind, payload = split(got[1])
    if kind != "part":
        raise PartError(ERROR_UNAVAILABLE, "The part could not be loaded.")
    return PartStream(key=key, first=payload)
