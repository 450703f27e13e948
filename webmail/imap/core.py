"""The state and error handling every ImapSession verb builds on.

SessionCore owns the socket (through wire.Channel), knows the server's
capabilities and turns NO/BAD answers and broken connections into ImapError.
The verbs live in folders.py, messages.py and news.py; session.py puts them
together. Not thread safe: one thread at a time.
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
from collections.abc import Iterable, Sequence
from typing import Any

from webmail.imap import parse
from webmail.imap.errors import (
    CommandFailed,
    ConnectionLost,
    FolderMissing,
    ImapError,
    MessageMissing,
    OverQuota,
)
from webmail.imap.types import Capabilities, SelectInfo
from webmail.imap.wire import (
    Channel,
    Raw,
    Response,
    ResponseItem,
    Transport,
    split_code,
)

# Servers that answer a missing folder without a response code (Dovecot's
# SELECT does) still say so in words.
_MISSING = re.compile(
    r"doesn't exist|does not exist|no such (mailbox|folder)|unknown mailbox", re.I
)
_FLAG = re.compile(r"^\\?[A-Za-z0-9$_.\-]+$")


def flag_list(flags: Iterable[str]) -> Raw:
    """Return flags as a parenthesised list, refusing malformed names."""
    names = list(flags)
    for name in names:
        if not _FLAG.match(name):
            raise ValueError(f"Not a valid IMAP flag: {name!r}")
    return Raw(b"(" + " ".join(names).encode() + b")")


def uid_arg(uids: Iterable[int] | str) -> Raw:
    """Return UIDs (or a set such as "1:*") as a command argument."""
    if isinstance(uids, str):
        if not re.fullmatch(r"[0-9*:,]+", uids):
            raise ValueError(f"Not a UID set: {uids!r}")
        return Raw(uids.encode())
    return Raw(parse.format_uid_set(uids))


@functools.lru_cache(maxsize=64)
def shared_capabilities(names: frozenset[str]) -> Capabilities:
    """Return one Capabilities object for every connection with these names.

    A server says the same forty-odd names on every connection; a worker
    watching many accounts of one server keeps them once, not per connection.
    """
    return Capabilities(names)


class SessionCore:
    """A logged-in connection: state, command execution, error mapping."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        host: str,
        capabilities: frozenset[str],
        timeout: float,
    ) -> None:
        self.host = host
        sock.settimeout(timeout)
        self._transport = Transport(sock)
        self.capabilities = shared_capabilities(capabilities)
        self._channel = Channel(
            self._transport, literal_plus=self.capabilities.has("LITERAL+")
        )
        self.qresync = False
        self.condstore = False
        self.selected: str | None = None
        # What the last SELECT said, while that folder stays selected.
        self.selected_info: SelectInfo | None = None
        self._idle_tag: bytes | None = None
        self._broken = False

    # State ------------------------------------------------------------

    def setup(self, *, compress: bool) -> None:
        """Enable QRESYNC/CONDSTORE and, if asked, COMPRESS=DEFLATE."""
        if compress and self.capabilities.has("COMPRESS=DEFLATE"):
            response = self._run(Raw(b"COMPRESS"), Raw(b"DEFLATE"))
            if response.status == "OK":
                self._transport.start_compression()
        if self.capabilities.has("ENABLE") and self.capabilities.has("QRESYNC"):
            response = self._run(Raw(b"ENABLE"), Raw(b"QRESYNC"))
            enabled = self._enabled(response)
            self.qresync = "QRESYNC" in enabled
            self.condstore = self.qresync or "CONDSTORE" in enabled
        elif self.capabilities.has("ENABLE") and self.capabilities.has("CONDSTORE"):
            response = self._run(Raw(b"ENABLE"), Raw(b"CONDSTORE"))
            self.condstore = "CONDSTORE" in self._enabled(response)

    @staticmethod
    def _enabled(response: Response) -> set[str]:
        names: set[str] = set()
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "ENABLED":
                names.update(parse.text(n).upper() for n in parse.parse(rest))
        return names

    @property
    def usable(self) -> bool:
        """Return whether the connection can take another command."""
        return not (self._broken or self._transport.closed or self._channel.busy)

    @property
    def idling(self) -> bool:
        """Return whether an IDLE is in progress."""
        return self._idle_tag is not None

    def fileno(self) -> int:
        """Return the socket's file descriptor, to wait for news with select."""
        return self._transport.sock.fileno()

    @property
    def compressed(self) -> bool:
        """Return whether COMPRESS=DEFLATE is active."""
        return self._transport.compressed

    def _run(self, *args: bytes) -> Response:
        if self._idle_tag is not None:
            raise CommandFailed("Finish IDLE (idle_done) before other commands.")
        if not self.usable:
            raise ConnectionLost(f"The connection to {self.host} is no longer usable.")
        try:
            response = self._channel.run(*args)
        except ImapError as exc:
            self._fail(exc)
            raise
        self._check_bye(response)
        return response

    def _fail(self, exc: ImapError) -> None:
        self._broken = True
        with contextlib.suppress(OSError):
            self._transport.close()
        if not exc.message.endswith(f"({self.host})"):
            exc.message = f"{exc.message} ({self.host})"

    def _check_bye(self, response: Response) -> None:
        if response.status == "BYE" or (
            response.status != "OK"
            and any(parse.classify(u)[0] == "BYE" for u in response.untagged)
        ):
            self._broken = True
            raise ConnectionLost(f"{self.host} closed the connection: {response.text}")

    def _ok(self, response: Response, what: str, folder: str | None = None) -> Response:
        if response.status == "OK":
            return response
        code = response.code or ""
        shown = parse.decode_folder_name(folder) if folder else None
        if code == "EXPUNGEISSUED":
            # Dovecot refuses a whole UID MOVE or COPY naming a message
            # another client expunged since the connection last heard.
            raise MessageMissing(
                f"{self.host} no longer has some of the messages: "
                "another client removed them."
            )
        if code == "OVERQUOTA" or "quota" in response.text.lower():
            raise OverQuota(f"The mailbox on {self.host} is full ({response.text}).")
        if code in ("NONEXISTENT", "TRYCREATE") or (
            folder is not None and _MISSING.search(response.text)
        ):
            raise FolderMissing(f'The folder "{shown}" does not exist on {self.host}.')
        retryable = code in ("UNAVAILABLE", "SERVERBUG", "INUSE")
        raise CommandFailed(
            f"{self.host} refused to {what}: {response.text}", retryable=retryable
        )

    def _require(self, capability: str, what: str) -> None:
        if not self.capabilities.has(capability):
            raise CommandFailed(f"{self.host} does not support {what} ({capability}).")

    def _need_selected(self) -> None:
        if self.selected is None:
            raise CommandFailed("Select a folder first.")

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

    def _run_all(
        self, commands: Sequence[list[bytes]]
    ) -> tuple[list[Response], list[list[ResponseItem]]]:
        """Run commands, all sent at once when the connection allows it.

        The server then reads the next while it answers one: a round trip
        for them all, not one each. Returns their tagged answers, and all
        their untagged responses together (a server may interleave them).
        """
        if self._idle_tag is not None or not self.usable or self._holds_news():
            answers = [self._run(*args) for args in commands]
            return answers, [item for a in answers for item in a.untagged]
        tags = [self._send(args) for args in commands]
        untagged: list[list[ResponseItem]] = []
        try:
            answers = self._channel.read_until_all_tagged(tags, untagged)
        except ImapError as exc:
            self._fail(exc)
            raise
        for answer in answers:
            self._check_bye(answer)
        return answers, untagged

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

    def close(self) -> None:
        """Close the socket without logging out."""
        self._broken = True
        with contextlib.suppress(OSError):
            self._transport.close()


def lower_flags(flags: Iterable[str]) -> set[str]:
    return {flag.lower() for flag in flags}


def parse_code(items: list[Any]) -> tuple[str | None, bytes | None, str]:
    """Split the response code off an untagged OK/NO response."""
    first = items[0] if isinstance(items[0], bytes) else items[0][0]
    return split_code(first)


def vanished_uids(rest: list[Any]) -> list[int]:
    line = rest[0] if isinstance(rest[0], bytes) else rest[0][0]
    line = line.strip()
    if line.upper().startswith(b"(EARLIER)"):
        line = line[len(b"(EARLIER)") :].strip()
    return parse.parse_uid_set(line)
