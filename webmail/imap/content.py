"""Message verbs that read a message's content: parts, whole messages, streams."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from webmail.imap import bodystructure, parse
from webmail.imap.core import SessionCore, uid_arg
from webmail.imap.errors import (
    MessageMissing,
    UnknownEncoding,
)
from webmail.imap.types import BodyPart
from webmail.imap.wire import (
    Raw,
    ResponseItem,
)

DEFAULT_CHUNK = 1024 * 1024
_LITERAL8 = re.compile(rb"~\{(\d+)\}$")


class ContentVerbs(SessionCore):
    """Fetching a message's bytes: one part, the whole message, or in chunks."""

    def fetch_part(self, uid: int, section: str) -> bytes:
        """Return one body part (still transfer-encoded), "" for the whole."""
        _check_section(section)
        key = f"BODY[{section}]".encode()
        for _, data in self._fetch([uid], b"UID BODY.PEEK[" + section.encode() + b"]"):
            if data.get(b"UID") == uid and key in data:
                return bytes(data[key] or b"")
        raise MessageMissing(
            f"Message {uid} is no longer in the folder on {self.host}."
        )

    def fetch_message_starts(
        self, uids: Sequence[int], length: int
    ) -> dict[int, bytes]:
        """Return the first length octets of each message, by UID, in one FETCH.

        A message shorter than length comes whole; one gone is left out.
        """
        if not uids:
            return {}
        item = b"UID BODY.PEEK[]<0.%d>" % length
        starts: dict[int, bytes] = {}
        for _, data in self._fetch(uids, item):
            uid = data.get(b"UID")
            for key, value in data.items():
                if key.startswith(b"BODY[") and isinstance(uid, int):
                    starts[uid] = bytes(value or b"")
        return starts

    def fetch_raw(self, uid: int) -> bytes:
        """Return the whole message as stored ("view source")."""
        return self.fetch_part(uid, "")

    def stream_part(
        self, uid: int, section: str, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        """Yield a body part in chunks of at most chunk_size bytes.

        Each chunk is its own partial FETCH, so memory stays bounded. The
        session must not be used for anything else until the iterator ends.
        """
        return self._stream(uid, section, chunk_size, binary=False)

    def stream_binary(
        self, uid: int, section: str, chunk_size: int = DEFAULT_CHUNK
    ) -> Iterator[bytes]:
        """Like stream_part, but the server undoes the transfer encoding.

        Needs BINARY (RFC 3516); a part whose encoding the server does not
        know raises UnknownEncoding, and the caller decodes it itself.
        """
        self._require("BINARY", "decoding parts")
        return self._stream(uid, section, chunk_size, binary=True)

    def _stream(
        self, uid: int, section: str, chunk_size: int, *, binary: bool
    ) -> Iterator[bytes]:
        _check_section(section)
        if binary and not re.fullmatch(r"[0-9.]+", section):
            raise ValueError(f"Not a part number: {section!r}")
        verb = b"BINARY.PEEK" if binary else b"BODY.PEEK"
        prefix = b"BINARY[" if binary else b"BODY["
        offset = 0
        while True:
            item = b"%s[%s]<%d.%d>" % (verb, section.encode(), offset, chunk_size)
            chunk: bytes | None = None
            for data in self._fetch_one(uid, item):
                for key, value in data.items():
                    if key.startswith(prefix):
                        chunk = bytes(value or b"")
            if chunk is None:
                raise MessageMissing(
                    f"Message {uid} is no longer in the folder on {self.host}."
                )
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                return
            offset += len(chunk)

    def fetch_structures(
        self, uids: Iterable[int], octets: int
    ) -> dict[int, tuple[BodyPart, bytes]]:
        """Return each message's BODYSTRUCTURE and the first octets of its part 1.

        Part 1 is the text of most mail (a single part, or the first of a
        multipart), so one command often brings all a preview needs.
        Fetched with BODY.PEEK: no message is marked read. Messages already
        gone are left out.
        """
        wanted = set(uids)
        if not wanted:
            return {}
        items = b"UID BODYSTRUCTURE BODY.PEEK[1]<0.%d>" % octets
        found: dict[int, tuple[BodyPart, bytes]] = {}
        for _, data in self._fetch(sorted(wanted), items):
            uid = data.get(b"UID")
            # News of other messages may come with the answer.
            if uid in wanted and b"BODYSTRUCTURE" in data:
                structure = bodystructure.safe_bodystructure(data[b"BODYSTRUCTURE"])
                found[uid] = (structure, _section_data(data, "1") or b"")
        return found

    def fetch_starts(self, wanted: Mapping[int, tuple[str, int]]) -> dict[int, bytes]:
        """Return the start of one part of each message: {uid: (section, octets)}.

        One partial FETCH (BODY.PEEK: no message is marked read) per section
        and length, all sent at once. Messages already gone are left out.
        """
        groups: dict[tuple[str, int], list[int]] = {}
        for uid, (section, octets) in wanted.items():
            _check_section(section)
            groups.setdefault((section, octets), []).append(uid)
        commands = [
            self._fetch_args(
                sorted(uids), b"UID BODY.PEEK[%s]<0.%d>" % (section.encode(), octets)
            )
            for (section, octets), uids in groups.items()
        ]
        answers, untagged = self._run_all(commands)
        for answer in answers:
            self._ok(answer, "fetch messages")
        found: dict[int, bytes] = {}
        # A server may run the commands side by side, the answers of one
        # arriving during another's: each is told by its UID.
        for item in untagged:
            kind, number, rest = parse.classify(item)
            if kind != "FETCH" or number is None:
                continue
            data = parse.parse_fetch(number, rest)
            fetched = data.get(b"UID")
            # News of other messages (or flags of these) may come too.
            if isinstance(fetched, int) and fetched in wanted:
                start = _section_data(data, wanted[fetched][0])
                if start is not None:
                    found[fetched] = start
        return found

    def _fetch_one(self, uid: int, item: bytes) -> Iterator[dict[bytes, Any]]:
        """Fetch item of one message; yield the parsed data about that UID."""
        self._need_selected()
        response = self._run(
            Raw(b"UID FETCH"), uid_arg([uid]), Raw(b"(UID " + item + b")")
        )
        if response.status != "OK" and response.code == "UNKNOWN-CTE":
            raise UnknownEncoding(
                f"{self.host} cannot decode part of message {uid}: {response.text}"
            )
        self._ok(response, "fetch messages")
        for untagged in response.untagged:
            kind, number, rest = parse.classify(untagged)
            if kind == "FETCH" and number is not None:
                data = parse.parse_fetch(number, _plain_literals(rest))
                if data.get(b"UID") == uid:
                    yield data


def _section_data(data: dict[bytes, Any], section: str) -> bytes | None:
    """Return a fetched part's octets ("BODY[1]<0>" as servers name it)."""
    prefix = b"BODY[%s]" % section.encode()
    for key, value in data.items():
        if key.startswith(prefix):
            return bytes(value or b"")
    return None


def _plain_literals(items: list[ResponseItem]) -> list[ResponseItem]:
    """Turn literal8 markers (``~{n}``, RFC 3516) into plain ``{n}``.

    imapclient's parser knows only the plain form; the bytes are the same.
    """
    plain: list[ResponseItem] = []
    for item in items:
        if isinstance(item, tuple) and _LITERAL8.search(item[0]):
            item = (_LITERAL8.sub(rb"{\1}", item[0]), item[1])
        plain.append(item)
    return plain


def _check_section(section: str) -> None:
    if not re.fullmatch(r"[0-9.]*(HEADER|TEXT|MIME)?", section, re.IGNORECASE):
        raise ValueError(f"Not a body section: {section!r}")
