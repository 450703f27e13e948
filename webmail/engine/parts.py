"""Message parts and raw messages, streamed by the worker onto a Redis list.

The protocol is webmail.shared.partstream's. Parts are decoded by the
server where it offers BINARY (RFC 3516), else by the worker
(webmail.mime.stream). The part's transfer encoding, type and size come
from its BODYSTRUCTURE.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from webmail.engine.bodies import FULL_FETCH_MAX
from webmail.engine.connections import with_session
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
from webmail.models import Folder
from webmail.shared.partlinks import split_part_id
from webmail.shared.partstream import (
    CHUNK,
    ERROR_MISSING,
    ERROR_UNAVAILABLE,
    IDLE_LIMIT,
    KEY_TTL,
    STOP,
    WINDOW,
    ack_key,
    client,
)

logger = logging.getLogger(__name__)

# IMAP partial fetches are larger than list elements: fewer round trips.
FETCH_CHUNK = 1024 * 1024


class _Abandoned(Exception):
    """The reader went away; the worker stops quietly."""


class _Broken(ImapError):
    """The link broke after bytes went out: a retry would repeat them."""

    retryable = False


class _Sink:
    """The worker's end of one stream."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = client()
        self.pushed = 0
        self.data_sent = False

    def _put(self, element: bytes) -> None:
        if self.pushed >= WINDOW:
            got = self.client.blpop([ack_key(self.key)], timeout=IDLE_LIMIT)
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


def decoded(session: ImapSession, uid: int, part: BodyPart) -> Iterator[bytes]:
    """A non-multipart part's decoded bytes, FETCH_CHUNK at a time."""
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
        for chunk in decoded(session, uid, part):
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
    try:
        section, index = split_part_id(part_id)
    except ValueError:
        raise MessageMissing("The message has no such part.") from None
    content = unpacked.get(section)
    if content is None:
        part = find_part(root, section)
        if part is None or part.is_multipart or part.size > FULL_FETCH_MAX:
            raise MessageMissing("The message has no such part.")
        content = read_tnef(b"".join(decoded(session, uid, part)))
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
