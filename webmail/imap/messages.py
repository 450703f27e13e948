"""Message verbs: search, fetch (summaries, parts, streams), flags, moves."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from imapclient.datetime_util import datetime_to_INTERNALDATE

from webmail.imap import parse
from webmail.imap.core import SessionCore, flag_list, parse_code, uid_arg, vanished_uids
from webmail.imap.errors import (
    CharsetRefused,
    ImapError,
    MessageMissing,
    UnknownEncoding,
)
from webmail.imap.types import (
    Changes,
    FlagChange,
    MessageSummary,
    Quota,
    SearchResult,
)
from webmail.imap.wire import (
    Literal,
    Raw,
    Response,
    ResponseItem,
    quoted,
)

SUMMARY_ITEMS = (
    b"UID FLAGS ENVELOPE RFC822.SIZE INTERNALDATE BODYSTRUCTURE "
    b"BODY.PEEK[HEADER.FIELDS (REFERENCES)]"
)
_REFERENCES = b"BODY[HEADER.FIELDS (REFERENCES)]"
DEFAULT_CHUNK = 1024 * 1024
FETCH_BATCH = 1000


_SEARCH_WORD = re.compile(r"[A-Za-z0-9:*,\-$\\]+|[()]")
_CHARSET = re.compile(r"[A-Za-z0-9_\-.]{1,40}")
_LITERAL8 = re.compile(rb"~\{(\d+)\}$")


class SearchText(str):
    """A search argument always sent as a string: wrap text users typed.

    Plain str criteria that look like IMAP words ("UNSEEN", "1:10", "(")
    are sent as such, so a user's "(" or "ALL" must be wrapped.
    """


class MessageVerbs(SessionCore):
    """Searching, fetching and changing messages of the selected folder."""

    def _criteria(
        self, criteria: Sequence[str], charset: str | None = None
    ) -> list[bytes]:
        items = list(criteria) or ["ALL"]
        args: list[bytes] = []
        if charset is not None:
            if not _CHARSET.fullmatch(charset):
                raise ValueError(f"Not a charset name: {charset!r}")
            args += [Raw(b"CHARSET"), Raw(charset.encode())]
        elif not all(c.isascii() for c in items):
            args += [Raw(b"CHARSET"), Raw(b"UTF-8")]
        for item in items:
            if isinstance(item, SearchText) or not _SEARCH_WORD.fullmatch(item):
                args.append(quoted(item))
            else:
                args.append(Raw(item.encode()))
        return args

    def search_uids(self, *criteria: str, charset: str | None = None) -> list[int]:
        """Return the UIDs matching criteria, sorted.

        Each criterion is one IMAP search word or argument, for example
        ("UNSEEN",) or ("FROM", SearchText(typed)); see SearchText.
        Non-ASCII criteria are sent with CHARSET UTF-8; charset sends that
        CHARSET whatever the text, and a refusal of the command then raises
        CharsetRefused (servers answer BADCHARSET, or a bare NO or BAD).
        """
        self._need_selected()
        response = self._run(Raw(b"UID SEARCH"), *self._criteria(criteria, charset))
        if charset is not None and response.status in ("NO", "BAD"):
            raise CharsetRefused(
                f"{self.host} cannot search in {charset}: {response.text}"
            )
        self._ok(response, "search")
        uids: list[int] = []
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "SEARCH":
                uids.extend(int(v) for v in parse.parse(rest) if isinstance(v, int))
        return sorted(uids)

    def esearch(self, *criteria: str) -> SearchResult:
        """Search, returning count, min, max and all UIDs in one answer."""
        self._need_selected()
        if not self.capabilities.has("ESEARCH"):
            uids = self.search_uids(*criteria)
            return SearchResult(
                uids=tuple(uids),
                count=len(uids),
                min=uids[0] if uids else None,
                max=uids[-1] if uids else None,
            )
        response = self._run(
            Raw(b"UID SEARCH RETURN (MIN MAX COUNT ALL)"), *self._criteria(criteria)
        )
        self._ok(response, "search")
        found: dict[str, Any] = {}
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind != "ESEARCH":
                continue
            values = [v for v in parse.parse(rest) if not isinstance(v, tuple)]
            for i, value in enumerate(values[:-1]):
                key = parse.text(value).upper()
                if key in ("MIN", "MAX", "COUNT", "ALL"):
                    found[key] = values[i + 1]
        all_uids = (
            parse.parse_uid_set(parse.text(found["ALL"])) if "ALL" in found else []
        )
        return SearchResult(
            uids=tuple(all_uids),
            count=int(found.get("COUNT", len(all_uids))),
            min=int(found["MIN"]) if "MIN" in found else None,
            max=int(found["MAX"]) if "MAX" in found else None,
        )

    # Fetching ----------------------------------------------------------

    def _fetch_args(
        self, uids: Iterable[int] | str, items: bytes, modifiers: bytes = b""
    ) -> list[bytes]:
        self._need_selected()
        args: list[bytes] = [Raw(b"UID FETCH"), uid_arg(uids), Raw(b"(" + items + b")")]
        if modifiers:
            args.append(Raw(modifiers))
        return args

    def _fetch(
        self, uids: Iterable[int] | str, items: bytes, modifiers: bytes = b""
    ) -> list[tuple[int, dict[bytes, Any]]]:
        response = self._ok(
            self._run(*self._fetch_args(uids, items, modifiers)), "fetch messages"
        )
        results = []
        for item in response.untagged:
            kind, number, rest = parse.classify(item)
            if kind == "FETCH" and number is not None:
                results.append((number, parse.parse_fetch(number, rest)))
        return results

    def fetch_summaries(self, uids: Iterable[int] | str) -> list[MessageSummary]:
        """Return list data for messages by UID, or a UID range like "100:*".

        Sorted by UID. Messages already gone are left out.
        """
        if isinstance(uids, str):
            low = int(uids.split(":")[0]) if ":" in uids else 0
            response = self._run(*self._fetch_args(uids, self._summary_items()))
            self._ok(response, "fetch messages")
            summaries = self.summaries_from(response, None, low)
        else:
            wanted = list(uids)
            # Scattered UIDs make long command lines; servers cap their length.
            batches = [
                wanted[i : i + FETCH_BATCH] for i in range(0, len(wanted), FETCH_BATCH)
            ]
            with contextlib.closing(self.summary_batches(batches)) as fetched:
                summaries = [s for batch in fetched for s in batch]
        return _by_uid(summaries)

    def summary_batches(
        self, batches: Sequence[Sequence[int]]
    ) -> Generator[list[MessageSummary]]:
        """Yield the summaries of each batch of UIDs in turn, sorted by UID.

        Batches must not be empty; messages already gone are left out. Each
        message is parsed as soon as it is read, while the server goes on
        sending the rest, and the next batch's FETCH goes out before a batch
        is handed over, so the server reads those messages while the caller
        stores these. Use it in ``with contextlib.closing(...)``: a caller
        that stops early must let it read the answer still due.
        """
        items = self._summary_items()
        commands = [self._fetch_args(batch, items) for batch in batches]
        if self._idle_tag is not None or not self.usable or self._holds_news():
            # _run raises what fits, or keeps the news that NOTIFY sends.
            for batch, args in zip(batches, commands, strict=True):
                response = self._ok(self._run(*args), "fetch messages")
                yield _by_uid(self.summaries_from(response, set(batch)))
            return
        due = [self._send(commands[0])] if commands else []
        try:
            for index, batch in enumerate(batches):
                arriving = _ParsedAsRead(set(batch))
                response = self._answer(due.pop(), arriving)
                arriving.raise_failure()
                self._ok(response, "fetch messages")
                if index + 1 < len(commands):
                    due.append(self._send(commands[index + 1]))
                yield _by_uid(arriving.summaries)
        finally:
            # Left early: read the answer still due, so the connection stays in step.
            if due and not (self._broken or self._transport.closed):
                with contextlib.suppress(ImapError):
                    self._answer(due.pop(), [])

    @staticmethod
    def summaries_from(
        response: Response, wanted: set[int] | None = None, low: int = 0
    ) -> list[MessageSummary]:
        """Return the summaries in a summary FETCH's answer (see fetch_summaries)."""
        found = (_summary(item, wanted, low) for item in response.untagged)
        return [summary for summary in found if summary is not None]

    def _summary_items(self) -> bytes:
        return SUMMARY_ITEMS + (b" MODSEQ" if self.condstore else b"")

    def _holds_news(self) -> bool:
        # After NOTIFY (news.py) answers may carry news that _run keeps for
        # later, which reading them here would drop.
        return bool(getattr(self, "_notifying", False))

    def _send(self, args: list[bytes]) -> bytes:
        """Send a command without waiting for its answer; return its tag."""
        tag = self._channel.next_tag()
        try:
            self._channel.send_command(tag, args)
        except ImapError as exc:
            self._fail(exc)
            raise
        return tag

    def _answer(self, tag: bytes, untagged: list[list[ResponseItem]]) -> Response:
        """Read the answer to a command sent with _send, into untagged."""
        try:
            response = self._channel.read_until_tagged(tag, untagged)
        except ImapError as exc:
            self._fail(exc)
            raise
        self._check_bye(response)
        return response

    def fetch_all_flags(self) -> dict[int, tuple[str, ...]]:
        """Return {uid: flags} of every message (the sync without CONDSTORE)."""
        if self._exists_is_zero():
            return {}
        return {
            data[b"UID"]: parse.flags(data[b"FLAGS"])
            for _, data in self._fetch("1:*", b"UID FLAGS")
            if b"UID" in data and b"FLAGS" in data
        }

    def fetch_flags(self, uids: Iterable[int]) -> dict[int, FlagChange]:
        """Return {uid: flags, with MODSEQ under CONDSTORE} of messages by UID.

        Messages already gone are left out (though a view not brought up to
        date since another client expunged them may still list them).
        """
        wanted = sorted(set(uids))
        found: dict[int, FlagChange] = {}
        items = b"UID FLAGS" + (b" MODSEQ" if self.condstore else b"")
        for start in range(0, len(wanted), FETCH_BATCH):
            batch = wanted[start : start + FETCH_BATCH]
            asked = set(batch)
            for number, data in self._fetch(batch, items):
                change = parse.flag_change(number, data)
                # News of other messages may come with the answer.
                if change is not None and change.uid in asked:
                    found[change.uid] = change
        return found

    def _exists_is_zero(self) -> bool:
        # "1:*" on an empty folder is an error on some servers.
        if self.capabilities.has("ESEARCH"):
            return self.esearch("ALL").count == 0
        return not self.search_uids("ALL")

    def fetch_changes(self, since_modseq: int) -> Changes:
        """Return flag changes (and with QRESYNC, expunges) since a MODSEQ."""
        self._require("CONDSTORE", "change tracking")
        modifier = b"(CHANGEDSINCE %d%s)" % (
            since_modseq,
            b" VANISHED" if self.qresync else b"",
        )
        self._need_selected()
        args: list[bytes] = [Raw(b"UID FETCH 1:* (UID FLAGS)"), Raw(modifier)]
        response = self._ok(self._run(*args), "fetch changes")
        changed: list[FlagChange] = []
        vanished: list[int] = []
        for item in response.untagged:
            kind, number, rest = parse.classify(item)
            if kind == "FETCH" and number is not None:
                change = parse.flag_change(number, parse.parse_fetch(number, rest))
                if change is not None and change.uid is not None:
                    changed.append(change)
            elif kind == "VANISHED":
                vanished.extend(vanished_uids(rest))
        return Changes(
            changed=tuple(changed),
            vanished=tuple(sorted(vanished)),
            vanished_known=self.qresync,
        )

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

    # Changing ----------------------------------------------------------

    def store_flags(
        self,
        uids: Iterable[int],
        flags: Iterable[str],
        *,
        remove: bool = False,
        unchanged_since: int | None = None,
    ) -> frozenset[int]:
        """Add (or remove) flags; return the UIDs left alone by UNCHANGEDSINCE.

        unchanged_since is ignored by servers without CONDSTORE.
        """
        self._need_selected()
        uid_list = list(uids)
        if not uid_list:
            return frozenset()
        args: list[bytes] = [Raw(b"UID STORE"), uid_arg(uid_list)]
        if unchanged_since is not None and self.capabilities.has("CONDSTORE"):
            args.append(Raw(b"(UNCHANGEDSINCE %d)" % unchanged_since))
        args += [
            Raw(b"-FLAGS.SILENT" if remove else b"+FLAGS.SILENT"),
            flag_list(flags),
        ]
        response = self._ok(self._run(*args), "change flags")
        if response.code == "MODIFIED" and response.code_data:
            return frozenset(parse.parse_uid_set(response.code_data))
        return frozenset()

    def copy(self, uids: Iterable[int], folder: str) -> dict[int, int]:
        """Copy messages; return {old uid: new uid} when the server says."""
        self._need_selected()
        name = parse.encode_folder_name(folder)
        response = self._run(Raw(b"UID COPY"), uid_arg(uids), quoted(name))
        self._ok(response, "copy messages", name)
        return _copyuid(response)

    def move(self, uids: Iterable[int], folder: str) -> dict[int, int]:
        """Move messages; return {old uid: new uid} when the server says.

        Without MOVE this copies, marks the originals \\Deleted and expunges
        exactly those UIDs (UID EXPUNGE). A server without UIDPLUS keeps the
        originals marked \\Deleted: a plain EXPUNGE could remove messages
        other clients marked, so it is never sent.
        """
        self._need_selected()
        uid_list = sorted(set(uids))
        if not uid_list:
            return {}
        name = parse.encode_folder_name(folder)
        if self.capabilities.has("MOVE"):
            response = self._run(Raw(b"UID MOVE"), uid_arg(uid_list), quoted(name))
            self._ok(response, "move messages", name)
            return _copyuid(response)
        mapping = self.copy(uid_list, name)
        self.store_flags(uid_list, ["\\Deleted"])
        if self.capabilities.has("UIDPLUS"):
            self._ok(self._run(Raw(b"UID EXPUNGE"), uid_arg(uid_list)), "expunge")
        return mapping

    def expunge_uids(self, uids: Iterable[int]) -> None:
        """Delete messages for good: mark them \\Deleted, then UID EXPUNGE them."""
        self._need_selected()
        self._require("UIDPLUS", "removing single messages")
        uid_list = sorted(set(uids))
        if not uid_list:
            return
        self.store_flags(uid_list, ["\\Deleted"])
        self._ok(self._run(Raw(b"UID EXPUNGE"), uid_arg(uid_list)), "expunge")

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[str] = (),
        date: datetime | None = None,
    ) -> int | None:
        """Store a message in a folder; return its UID when the server says."""
        name = parse.encode_folder_name(folder)
        args: list[bytes] = [Raw(b"APPEND"), quoted(name), flag_list(flags)]
        if date is not None:
            args.append(quoted(datetime_to_INTERNALDATE(date)))
        args.append(Literal(raw))
        response = self._ok(self._run(*args), "store the message", name)
        if response.code == "APPENDUID" and response.code_data:
            parts = response.code_data.split()
            if len(parts) == 2 and parts[1].isdigit():
                return int(parts[1])
        return None

    def get_quota(self) -> Quota | None:
        """Return the quota of INBOX's quota root, or None without QUOTA."""
        if not self.capabilities.has("QUOTA"):
            return None
        response = self._ok(
            self._run(Raw(b"GETQUOTAROOT"), Raw(b"INBOX")), "read the quota"
        )
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind != "QUOTA":
                continue
            parsed = parse.parse(rest)
            root, resources = parse.text(parsed[0]), parsed[1]
            values: dict[str, tuple[int, int]] = {}
            for i in range(0, len(resources) - 2, 3):
                name = parse.text(resources[i]).upper()
                values[name] = (int(resources[i + 1]), int(resources[i + 2]))
            storage = values.get("STORAGE")
            message = values.get("MESSAGE")
            return Quota(
                root=root,
                used_kb=storage[0] if storage else None,
                limit_kb=storage[1] if storage else None,
                messages=message[0] if message else None,
                message_limit=message[1] if message else None,
            )
        return None


def _summary(
    item: list[ResponseItem], wanted: set[int] | None, low: int
) -> MessageSummary | None:
    """Return the summary an untagged response carries, if it is one asked for."""
    kind, number, rest = parse.classify(item)
    if kind != "FETCH" or number is None:
        return None
    data = parse.summary_fetch(number, rest)
    uid = data.get(b"UID")
    if uid is None or b"ENVELOPE" not in data:
        return None  # an unsolicited flag update
    if (wanted is not None and uid not in wanted) or uid < low:
        return None
    references = data.get(_REFERENCES)  # as asked; else as some server spells it
    if references is None:
        references = next(
            (v for k, v in data.items() if k.startswith(b"BODY[HEADER")), None
        )
    modseq = data.get(b"MODSEQ")
    return MessageSummary(
        uid=uid,
        flags=parse.flags(data.get(b"FLAGS", ())),
        modseq=int(modseq[0]) if modseq else None,
        envelope=parse.envelope_of(data[b"ENVELOPE"]),
        size=int(data.get(b"RFC822.SIZE", 0)),
        internaldate=parse.internaldate_of(data.get(b"INTERNALDATE")),
        references=parse.references(references),
        bodystructure=parse.safe_bodystructure(data[b"BODYSTRUCTURE"]),
    )


def _by_uid(summaries: list[MessageSummary]) -> list[MessageSummary]:
    return sorted(summaries, key=lambda s: s.uid)


class _ParsedAsRead(list[list[ResponseItem]]):
    """Untagged responses of a summary FETCH, each parsed the moment it is read.

    Channel.read_until_tagged appends every untagged response here; parsing
    then goes on while the server is still sending the rest of the answer.
    A failure to parse is kept for raise_failure(), so that the answer is
    still read to its end and the connection stays usable.
    """

    def __init__(self, wanted: set[int]) -> None:
        super().__init__()
        self.wanted = wanted
        self.summaries: list[MessageSummary] = []
        self.failure: Exception | None = None

    def append(self, item: list[ResponseItem]) -> None:
        super().append(item)
        if self.failure is not None:
            return
        try:
            summary = _summary(item, self.wanted, 0)
        except Exception as exc:
            self.failure = exc
            return
        if summary is not None:
            self.summaries.append(summary)

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


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


def _copyuid(response: Response) -> dict[int, int]:
    if response.code == "COPYUID":
        return parse.parse_copyuid(response.code_data)
    for item in response.untagged:
        kind, _, rest = parse.classify(item)
        if kind == "OK":
            code, data, _ = parse_code(rest)
            if code == "COPYUID":
                return parse.parse_copyuid(data)
    return {}
