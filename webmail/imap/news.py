"""News from the server: NOOP and the IDLE helpers, parsed into events."""

from __future__ import annotations

from typing import Any

from webmail.imap import parse
from webmail.imap.core import SessionCore, vanished_uids
from webmail.imap.errors import (
    CommandFailed,
    ConnectionLost,
    ImapError,
)
from webmail.imap.types import (
    Exists,
    Expunged,
    IdleEvent,
    Vanished,
)
from webmail.imap.wire import Raw


class NewsVerbs(SessionCore):
    """NOOP and IDLE: what other clients changed in the selected folder."""

    def noop(self) -> list[IdleEvent]:
        """Send NOOP (keeps the connection alive); return reported news."""
        response = self._ok(self._run(Raw(b"NOOP")), "noop")
        return _events(response.untagged)

    def idle_start(self) -> None:
        """Enter IDLE on the selected folder; then use idle_check/idle_done.

        Servers may end an IDLE after 30 minutes: call idle_done() and
        idle_start() again well before that (every 10 to 25 minutes).
        """
        self._require("IDLE", "push notifications")
        self._need_selected()
        if not self.usable:
            raise ConnectionLost(f"The connection to {self.host} is no longer usable.")
        tag = self._channel.next_tag()
        try:
            self._channel.send_command(tag, [Raw(b"IDLE")])
            while True:
                response = self._transport.read_response()
                first = (
                    response[0] if isinstance(response[0], bytes) else response[0][0]
                )
                if first.startswith(b"+"):
                    break
                if first.startswith(tag + b" "):
                    self._channel.busy = False
                    raise CommandFailed(f"{self.host} refused IDLE.")
        except ImapError as exc:
            if not isinstance(exc, CommandFailed):
                self._fail(exc)
            raise
        self._idle_tag = tag

    def idle_check(self, timeout: float) -> list[IdleEvent]:
        """Wait up to timeout seconds for news during IDLE and return it."""
        if self._idle_tag is None:
            raise CommandFailed("idle_check() needs idle_start() first.")
        events: list[IdleEvent] = []
        try:
            ready = self._transport.wait_readable(timeout)
            while ready:
                response = self._transport.read_response()
                if parse.classify(response)[0] == "BYE":
                    raise ConnectionLost(f"{self.host} closed the connection.")
                events.extend(_events([response]))
                ready = self._transport.wait_readable(0)
        except ImapError as exc:
            self._fail(exc)
            raise
        except OSError as exc:
            error = ConnectionLost(f"Lost the connection to {self.host}: {exc}")
            self._fail(error)
            raise error from exc
        return events

    def idle_done(self) -> list[IdleEvent]:
        """Leave IDLE; return news that arrived since the last idle_check."""
        tag = self._idle_tag
        if tag is None:
            return []
        self._idle_tag = None
        try:
            self._transport.send(b"DONE\r\n")
            response = self._channel.read_until_tagged(tag)
        except ImapError as exc:
            self._fail(exc)
            raise
        self._check_bye(response)
        return _events(response.untagged)


def _events(untagged: list[Any]) -> list[IdleEvent]:
    events: list[IdleEvent] = []
    for item in untagged:
        kind, number, rest = parse.classify(item)
        if kind == "EXISTS" and number is not None:
            events.append(Exists(number))
        elif kind == "EXPUNGE" and number is not None:
            events.append(Expunged(number))
        elif kind == "VANISHED":
            # VANISHED (EARLIER) answers a command; plain VANISHED is news.
            uids = vanished_uids(rest)
            if uids:
                events.append(Vanished(tuple(uids)))
        elif kind == "FETCH" and number is not None:
            change = parse.flag_change(number, parse.parse_fetch(number, rest))
            if change is not None:
                events.append(change)
    return events
