"""News from the server: NOOP, IDLE and NOTIFY, parsed into events.

With NOTIFY (RFC 5465) the server reports changes to other folders as
untagged STATUS responses, at any time: in IDLE, between commands, or in
the middle of another command's answer. Those are taken out of every
answer (so a STATUS verb never mistakes one for its own) and kept until
noop(), idle_check() or idle_done() returns them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from webmail.imap import parse
from webmail.imap.core import SessionCore, parse_code, vanished_uids
from webmail.imap.errors import (
    CommandFailed,
    ConnectionLost,
    ImapError,
)
from webmail.imap.types import (
    Exists,
    Expunged,
    FolderStatus,
    IdleEvent,
    NotificationsLost,
    Vanished,
)
from webmail.imap.wire import Raw, Response, quoted

# The events NOTIFY reports, for the selected folder and the others. Dovecot
# reads "inboxes" as every folder of the INBOX namespace, so the folders are
# named instead.
_NOTIFY_EVENTS = b"(MessageNew MessageExpunge FlagChange)"


class NewsVerbs(SessionCore):
    """NOOP, IDLE and NOTIFY: what other clients changed."""

    _notifying = False
    _held: tuple[IdleEvent, ...] = ()

    def noop(self) -> list[IdleEvent]:
        """Send NOOP (keeps the connection alive); return reported news."""
        response = self._ok(self._run(Raw(b"NOOP")), "noop")
        return self._take_held() + _events(response.untagged)

    def notify_changes(self, folders: Sequence[str]) -> list[FolderStatus]:
        """Ask for news of the selected folder and of folders (NOTIFY SET).

        From then on, changes to the selected folder come as IDLE news does,
        and changes to the other folders as FolderStatus events from noop()
        and the IDLE helpers, whether or not IDLE runs. Returns the current
        counts of those folders (the selected one excepted), to compare
        later news with. Needs the NOTIFY capability.
        """
        self._require("NOTIFY", "notifications of other folders")
        names = b" ".join(quoted(parse.encode_folder_name(f)) for f in folders)
        args = [
            Raw(b"NOTIFY SET STATUS"),
            Raw(b"(selected " + _NOTIFY_EVENTS + b")"),
        ]
        if folders:
            args.append(Raw(b"(mailboxes (" + names + b") " + _NOTIFY_EVENTS + b")"))
        response = self._ok(self._run(*args), "send notifications")
        self._notifying = True
        news = self._take_held() + _events(response.untagged)
        return [event for event in news if isinstance(event, FolderStatus)]

    def poll_status(self, folder: str) -> FolderStatus:
        """Return fresh counts of any folder with one STATUS (two if selected).

        For checking a folder often and cheaply: HIGHESTMODSEQ (with
        CONDSTORE) or UNSEEN tells of flag changes, UIDNEXT of new mail,
        MESSAGES of expunges. A folder this connection has selected gets
        a NOOP first, since Dovecot answers STATUS of the selected folder
        from the connection's view as it was.
        """
        name = parse.encode_folder_name(folder)
        if self.selected == name:
            self._ok(self._run(Raw(b"NOOP")), "noop")
        items = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"]
        if self.condstore:
            items.append("HIGHESTMODSEQ")
        response = self._run(
            Raw(b"STATUS"), quoted(name), Raw(f"({' '.join(items)})".encode())
        )
        self._ok(response, "read the folder status", name)
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "STATUS":
                status = _status(rest)
                if status.folder == name:
                    return status
        return FolderStatus(name)

    def _run(self, *args: bytes) -> Response:
        response = super()._run(*args)
        if self._notifying:
            self._hold_statuses(response, args)
        return response

    def _hold_statuses(self, response: Response, args: Sequence[bytes]) -> None:
        if args and args[0].upper().startswith(b"LIST"):
            return  # LIST-STATUS answers are that command's own
        asked = None
        if args and args[0].upper() == b"STATUS" and len(args) > 1:
            asked = parse.text(parse.parse([args[1]])[0])
        kept = []
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "STATUS" and _status(rest).folder != asked:
                self._hold(_events([item]))
            else:
                kept.append(item)
        response.untagged[:] = kept

    def _hold(self, events: list[IdleEvent]) -> None:
        # Only the latest counts of a folder matter; bounded either way.
        self._held = (*self._held, *events)[-200:]

    def _take_held(self) -> list[IdleEvent]:
        held, self._held = list(self._held), ()
        return held

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
                self._hold(_events([response]))
        except ImapError as exc:
            if not isinstance(exc, CommandFailed):
                self._fail(exc)
            raise
        self._idle_tag = tag

    def idle_check(self, timeout: float) -> list[IdleEvent]:
        """Wait up to timeout seconds for news during IDLE and return it."""
        if self._idle_tag is None:
            raise CommandFailed("idle_check() needs idle_start() first.")
        events = self._take_held()
        if events:
            return events
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
        return self._take_held() + _events(response.untagged)


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
        elif kind == "STATUS":
            events.append(_status(rest))
        elif kind == "OK" and parse_code(rest)[0] == "NOTIFICATIONOVERFLOW":
            events.append(NotificationsLost())
    return events


def _status(rest: list[Any]) -> FolderStatus:
    name, counts = parse.parse_status(rest)
    return FolderStatus(
        name,
        messages=counts.get("MESSAGES"),
        uidnext=counts.get("UIDNEXT"),
        uidvalidity=counts.get("UIDVALIDITY"),
        unseen=counts.get("UNSEEN"),
        highestmodseq=counts.get("HIGHESTMODSEQ"),
    )
