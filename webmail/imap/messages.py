"""Message verbs: search, and fetching summaries, flags and changes."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Generator, Iterable, Sequence
from typing import Any

from webmail.imap import bodystructure, envelopes, parse
from webmail.imap.core import SessionCore, vanished_uids
from webmail.imap.errors import (
    CharsetRefused,
    ImapError,
)
from webmail.imap.types import (
    Changes,
    FlagChange,
    MessageSummary,
    SearchResult,
)
from webmail.imap.wire import (
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
_MESSAGE_ID_ITEMS = b"UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
_MESSAGE_ID_FIELD = re.compile(
    rb"^message-id[ \t]*:(.*)$", re.IGNORECASE | re.MULTILINE
)
_FOLDING = re.compile(rb"\r?\n(?=[ \t])")
FETCH_BATCH = 1000


_SEARCH_WORD = re.compile(r"[A-Za-z0-9:*,\-$\\]+|[()]")
_CHARSET = re.compile(r"[A-Za-z0-9_\-.]{1,40}")


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

    def fetch_message_ids(self, uids: Iterable[int]) -> dict[int, str | None]:
        """Return {uid: Message-ID header, or None without one} by UID.

        The header's value as written, its folding and other white space
        taken out (a Message-ID has none), so that two copies of a message
        compare equal. Messages already gone are left out.
        """
        wanted = sorted(set(uids))
        found: dict[int, str | None] = {}
        for start in range(0, len(wanted), FETCH_BATCH):
            batch = wanted[start : start + FETCH_BATCH]
            asked = set(batch)
            for _, data in self._fetch(batch, _MESSAGE_ID_ITEMS):
                uid = data.get(b"UID")
                block = next(
                    (v for k, v in data.items() if k.startswith(b"BODY[HEADER")),
                    None,
                )
                # News of other messages may come with the answer.
                if uid in asked and (block is not None or uid not in found):
                    found[uid] = _message_id(block)
        return found

    def _exists_is_zero(self) -> bool:
        # "1:*" on an empty folder is an error on some servers.
        if self.capabilities.has("ESEARCH"):
            return self.esearch("ALL").count == 0
        return not self.search_uids("ALL")

    def fetch_changes(
        self, since_modseq: int, highest_uid: int | None = None
    ) -> Changes:
        """Return flag changes (and with QRESYNC, expunges) since a MODSEQ.

        highest_uid is the highest UID the caller may know of: Cyrus reads
        "*" as the highest UID still in the folder, so over "1:*" it never
        reports the expunge of the newest messages.
        """
        self._require("CONDSTORE", "change tracking")
        modifier = b"(CHANGEDSINCE %d%s)" % (
            since_modseq,
            b" VANISHED" if self.qresync else b"",
        )
        self._need_selected()
        upto = b"*" if highest_uid is None else b"%d" % max(highest_uid, 1)
        args: list[bytes] = [Raw(b"UID FETCH 1:%s (UID FLAGS)" % upto), Raw(modifier)]
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


def _summary(
    item: list[ResponseItem], wanted: set[int] | None, low: int
) -> MessageSummary | None:
    """Return the summary an untagged response carries, if it is one asked for."""
    kind, number, rest = parse.classify(item)
    if kind != "FETCH" or number is None:
        return None
    data = envelopes.summary_fetch(number, rest)
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
        envelope=envelopes.envelope_of(data[b"ENVELOPE"]),
        size=int(data.get(b"RFC822.SIZE", 0)),
        internaldate=envelopes.internaldate_of(data.get(b"INTERNALDATE")),
        references=envelopes.references(references),
        bodystructure=bodystructure.safe_bodystructure(data[b"BODYSTRUCTURE"]),
    )


def _message_id(header_block: bytes | None) -> str | None:
    """Return the Message-ID in a HEADER.FIELDS (MESSAGE-ID) answer, or None."""
    if not header_block:
        return None
    unfolded = _FOLDING.sub(b" ", header_block)
    found = _MESSAGE_ID_FIELD.search(unfolded)
    if found is None:
        return None
    value = b"".join(found.group(1).split())
    return value.decode("utf-8", "surrogateescape") or None


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
