"""Message parts and raw messages, streamed from the worker through Redis.

The web process never talks IMAP and never holds a whole attachment, and
the worker may run on another host. So the web process queues
``stream_parts`` on the account's shard queue with a fresh Redis key, and
reads that key as a list while the worker fills it: one element per chunk
of at most CHUNK bytes, each a kind byte and a payload:

- ``m`` JSON about the part whose bytes follow (type, file name, size)
- ``d`` bytes of that part, decoded
- ``e`` the end
- ``x`` JSON error: ``code`` (one of the ERROR_* values) and ``message``

Backpressure: the reader pushes a token onto ``<key>:ack`` for every element
it takes, and the worker lets at most WINDOW elements wait unread, so a slow
download slows the IMAP fetch rather than filling Redis. A reader that goes
away pushes STOP (or stops taking), and the worker gives up.

Parts are decoded by the server where it offers BINARY (RFC 3516), else by
the worker (webmail.mime.stream). The part's transfer encoding, type and
size come from its BODYSTRUCTURE.

Inline images of the sandboxed body frame load without the session cookie,
so their URLs carry a signature instead (sign_part, like the image proxy).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections.abc import AsyncGenerator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.core import signing
from django.urls import reverse

from webmail.imap import (
    ConnectionLost,
    ImapError,
    ImapSession,
    MessageMissing,
    UnknownEncoding,
)
from webmail.imap.types import BodyPart
from webmail.mime.filenames import safe_filename
from webmail.mime.parse import guess_type
from webmail.mime.stream import decoder_for
from webmail.mime.tnef import TnefContent, read_tnef

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
# IMAP partial fetches are larger than list elements: fewer round trips.
FETCH_CHUNK = 1024 * 1024
# Elements the worker may push ahead of the reader.
WINDOW = 4
# Seconds the worker waits for the reader to take an element, and the
# reader for the next element, before either gives up.
IDLE_LIMIT = 60
KEY_TTL = IDLE_LIMIT * 2
STOP = b"stop"
# Inline images: the body frame's HTML is cached for a week (bodies.py),
# so a signature must outlive the cache entry that carries it.
SIGNED_MAX_AGE = 8 * 24 * 3600

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

ERROR_MISSING = "missing"
ERROR_UNAVAILABLE = "unavailable"
ERROR_TIMEOUT = "timeout"

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


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


def tnef_part_id(section: str, index: int) -> str:
    """Return the id of file ``index`` (from 0) inside a winmail.dat part.

    The files of one winmail.dat share its IMAP section, so each gets the
    section and its place after a "~" (from 1): "2~1", "2~2".
    """
    return f"{section}~{index + 1}"


def split_part_id(part_id: str) -> tuple[str, int | None]:
    """Return (IMAP section, index inside its winmail.dat or None)."""
    section, tilde, place = part_id.partition("~")
    if not tilde:
        return part_id, None
    if not place.isdigit() or int(place) < 1:
        raise ValueError(f"Not a part id: {part_id!r}")
    return section, int(place) - 1


def extension_for(content_type: str) -> str:
    """Return a file name extension for a part that has no name."""
    return _EXTENSIONS.get(content_type.lower(), "bin")


class PartError(Exception):
    """A part could not be streamed; code is one of the ERROR_* values."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Abandoned(Exception):
    """The reader went away; the worker stops quietly."""


class _Broken(ImapError):
    """The link broke after bytes went out: a retry would repeat them."""

    retryable = False


def _client() -> redis.Redis:
    # Blocking pops outlast events.redis_client()'s socket timeout.
    url = settings.REDIS_URL
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            longest = max(IDLE_LIMIT, int(settings.BODY_FETCH_TIMEOUT))
            client = redis.Redis.from_url(
                url, socket_timeout=longest + 10, socket_connect_timeout=2
            )
            _clients[url] = client
        return client


def _ack_key(key: str) -> str:
    return key + ":ack"


# Worker side ----------------------------------------------------------------


class _Sink:
    """The worker's end of one stream."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = _client()
        self.pushed = 0
        self.data_sent = False

    def _put(self, element: bytes) -> None:
        if self.pushed >= WINDOW:
            got = self.client.blpop([_ack_key(self.key)], timeout=IDLE_LIMIT)
            if got is None or got[1] == STOP:
                raise _Abandoned
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(self.key, element)
            pipe.expire(self.key, KEY_TTL)
            pipe.execute()
        self.pushed += 1

    def meta(self, info: dict[str, Any]) -> None:
        self._put(b"m" + json.dumps(info).encode())

    def data(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            self.data_sent = True
            self._put(b"d" + data[start : start + CHUNK])

    def end(self) -> None:
        self._put(b"e")

    def error(self, code: str, message: str) -> None:
        self._put(b"x" + json.dumps({"code": code, "message": message}).encode())


def find_part(root: BodyPart, section: str) -> BodyPart | None:
    """Return the part of a BODYSTRUCTURE with this section number."""
    for part in root.walk():
        if part.section == section:
            return part
    return None


def _decoded(session: ImapSession, uid: int, part: BodyPart) -> Iterator[bytes]:
    encoding = (part.encoding or "").lower()
    if encoding in ("base64", "quoted-printable") and session.capabilities.has(
        "BINARY"
    ):
        try:
            yield from session.stream_binary(uid, part.section, FETCH_CHUNK)
            return
        except UnknownEncoding:
            logger.info("The server cannot decode %s; decoding here", encoding)
    decoder = decoder_for(encoding)
    for chunk in session.stream_part(uid, part.section, FETCH_CHUNK):
        yield decoder.feed(chunk)
    yield decoder.flush()


def _stream(
    session: ImapSession,
    folder_name: str,
    uidvalidity: int | None,
    uid: int,
    sections: Sequence[str],
    sink: _Sink,
) -> None:
    info = session.open_folder(folder_name)
    if info.uidvalidity != uidvalidity:
        raise MessageMissing("The folder changed on the server; reload it.")
    summaries = session.fetch_summaries([uid])
    if not summaries:
        raise MessageMissing("The message is no longer on the server.")
    summary = summaries[0]
    unpacked: dict[str, TnefContent] = {}
    for section in sections:
        if section == "":
            sink.meta({"part": "", "content_type": "message/rfc822"})
            for chunk in session.stream_part(uid, "", FETCH_CHUNK):
                sink.data(chunk)
            continue
        if "~" in section:
            _stream_tnef_file(
                session, uid, summary.bodystructure, section, unpacked, sink
            )
            continue
        part = find_part(summary.bodystructure, section)
        if part is None or part.is_multipart:
            raise MessageMissing("The message has no such part.")
        sink.meta(
            {
                "part": section,
                "content_type": part.content_type,
                "charset": part.charset,
                "filename": part.filename,
                "size": part.size,
            }
        )
        for chunk in _decoded(session, uid, part):
            sink.data(chunk)


def _stream_tnef_file(
    session: ImapSession,
    uid: int,
    root: BodyPart,
    part_id: str,
    unpacked: dict[str, TnefContent],
    sink: _Sink,
) -> None:
    """Send one file from inside a winmail.dat part.

    The reading pane lists these files only for messages it parsed whole
    (bodies.FULL_FETCH_MAX), so the winmail.dat is read whole here too,
    within the same bound, and read once for all the files of a zip.
    """
    from webmail.bodies import FULL_FETCH_MAX

    try:
        section, index = split_part_id(part_id)
    except ValueError:
        raise MessageMissing("The message has no such part.") from None
    content = unpacked.get(section)
    if content is None:
        part = find_part(root, section)
        if part is None or part.is_multipart or part.size > FULL_FETCH_MAX:
            raise MessageMissing("The message has no such part.")
        content = read_tnef(b"".join(_decoded(session, uid, part)))
        unpacked.clear()
        unpacked[section] = content
    if index is None or index >= len(content.files):
        raise MessageMissing("The message has no such part.")
    item = content.files[index]
    name = safe_filename(item.name)
    sink.meta(
        {
            "part": part_id,
            "content_type": guess_type(name),
            "charset": None,
            "filename": name,
            "size": len(item.data),
        }
    )
    sink.data(item.data)


def stream_to_redis(
    account_id: int, folder_id: int, uid: int, sections: Sequence[str], key: str
) -> None:
    """Push parts of a message (section "": the raw message) onto key.

    Runs in the worker; every outcome ends the list with an end or an
    error element, unless the reader is gone.
    """
    from webmail.models import Folder
    from webmail.workers import with_session

    sink = _Sink(key)
    try:
        folder = Folder.objects.filter(id=folder_id, account_id=account_id).first()
        if folder is None:
            sink.error(ERROR_MISSING, "The folder no longer exists.")
            return
        name, uidvalidity = folder.name, folder.uidvalidity

        def work(session: ImapSession) -> None:
            try:
                _stream(session, name, uidvalidity, uid, sections, sink)
            except ConnectionLost as exc:
                if sink.data_sent:
                    raise _Broken(str(exc)) from exc
                raise

        try:
            with_session(account_id, work, folder=name)
        except MessageMissing as exc:
            sink.error(ERROR_MISSING, str(exc))
            return
        except ImapError as exc:
            sink.error(ERROR_UNAVAILABLE, str(exc))
            return
        sink.end()
    except _Abandoned:
        logger.info("A download of account %s was abandoned", account_id)
    except redis.RedisError as exc:
        logger.warning("Could not stream a part through Redis: %s", exc)


# Web side -------------------------------------------------------------------


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
        client = aioredis.from_url(
            settings.REDIS_URL,
            socket_timeout=IDLE_LIMIT + 10,
            socket_connect_timeout=2,
        )
        finished = False
        try:
            yield "part", self.first
            while True:
                got = await client.blpop([self.key], timeout=IDLE_LIMIT)
                if got is None:
                    raise PartError(ERROR_TIMEOUT, "The mail server stopped sending.")
                async with client.pipeline(transaction=False) as pipe:
                    pipe.rpush(_ack_key(self.key), b"1")
                    pipe.expire(_ack_key(self.key), KEY_TTL)
                    await pipe.execute()
                kind, payload = _split(got[1])
                if kind == "end":
                    finished = True
                    return
                yield kind, payload
        finally:
            try:
                if not finished:
                    await client.lpush(_ack_key(self.key), STOP)
                    await client.expire(_ack_key(self.key), KEY_TTL)
                else:
                    await client.delete(self.key, _ack_key(self.key))
                await client.aclose()
            except (redis.RedisError, OSError):
                pass

    def cancel(self) -> None:
        """Tell the worker that nobody will read the rest."""
        try:
            client = _client()
            client.lpush(_ack_key(self.key), STOP)
            client.expire(_ack_key(self.key), KEY_TTL)
        except redis.RedisError:
            pass

    async def data(self) -> AsyncGenerator[bytes, None]:
        """Yield the bytes of the stream's parts."""
        # Closed at once with this generator, so the worker hears STOP.
        async with contextlib.aclosing(self.elements()) as elements:
            async for kind, payload in elements:
                if kind == "data":
                    yield payload


def _split(element: bytes | str) -> tuple[str, Any]:
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


def open_stream(
    account_id: int, folder_id: int, uid: int, sections: Sequence[str]
) -> PartStream:
    """Ask the account's worker to stream parts; wait for the first to start.

    Raises PartError if the worker reports an error or does not start
    within BODY_FETCH_TIMEOUT seconds.
    """
    from webmail import tasks
    from webmail.routing import queue_for

    key = f"{settings.REDIS_KEY_PREFIX}:part:{uuid.uuid4().hex}"
    wait = int(settings.BODY_FETCH_TIMEOUT)
    try:
        tasks.stream_parts.apply_async(
            (account_id, folder_id, uid, list(sections), key),
            queue=queue_for(account_id),
            # A download nobody waits for any more is not started.
            expires=wait,
        )
    except Exception as exc:  # the broker is unreachable
        logger.warning("Could not queue a part stream: %s", exc)
        raise PartError(ERROR_UNAVAILABLE, "The mail service is busy.") from exc
    try:
        got = _client().blpop([key], timeout=wait)
        if got is not None:
            with _client().pipeline(transaction=False) as pipe:
                pipe.rpush(_ack_key(key), b"1")
                pipe.expire(_ack_key(key), KEY_TTL)
                pipe.execute()
    except redis.RedisError as exc:
        logger.warning("Could not start a part stream: %s", exc)
        raise PartError(ERROR_UNAVAILABLE, "The mail service is busy.") from exc
    if got is None:
        raise PartError(ERROR_TIMEOUT, "The mail server is slow to answer.")
    kind, payload = _split(got[1])
    if kind != "part":
        raise PartError(ERROR_UNAVAILABLE, "The part could not be loaded.")
    return PartStream(key=key, first=payload)


# Signed URLs of inline parts -------------------------------------------------


def _salt(user_id: int) -> str:
    return f"webmail.part.user:{user_id}"


def sign_part(
    user_id: int, account_id: int, folder_id: int, uid: int, part_id: str
) -> str:
    """Return a token that lets this user's body frame load one part."""
    return signing.dumps([account_id, folder_id, uid, part_id], salt=_salt(user_id))


def unsign_part(user_id: int, token: str) -> tuple[int, int, int, str]:
    """Return (account, folder, uid, part) of a token; BadSignature if forged."""
    value = signing.loads(token, salt=_salt(user_id), max_age=SIGNED_MAX_AGE)
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) for v in value[:3])
        or not isinstance(value[3], str)
    ):
        raise signing.BadSignature("Not a part token.")
    return value[0], value[1], value[2], value[3]


def inline_part_url(
    user_id: int, account_id: int, folder_id: int, uid: int, part_id: str
) -> str:
    """Return the signed URL of an inline part (a cid: image)."""
    token = sign_part(user_id, account_id, folder_id, uid, part_id)
    return reverse("mail_inline_part", args=[user_id, token])
