"""Folder verbs: LIST (with special use and status), STATUS, SELECT, ..."""

from __future__ import annotations

import time
from collections.abc import Sequence

from webmail.imap import parse
from webmail.imap.core import SessionCore, lower_flags, parse_code, vanished_uids
from webmail.imap.types import (
    FlagChange,
    Folder,
    SelectInfo,
)
from webmail.imap.wire import (
    Raw,
    quoted,
)

STATUS_ITEMS = ("MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY")
# Seconds a selected folder's view, once SELECT or NOOP found it good, is
# taken as good without another NOOP (see open_folder).
VIEW_TRUSTED_FOR = 1.0


class FolderVerbs(SessionCore):
    """Listing, managing and selecting folders."""

    _view_checked_at = float("-inf")

    def list_folders(self, *, with_status: bool = True) -> list[Folder]:
        """List every folder, with special use, subscription and counts."""
        caps = self.capabilities
        extended = caps.has("LIST-EXTENDED")
        args: list[bytes] = [Raw(b"LIST"), Raw(b'""'), Raw(b'"*"')]
        status_items = [*STATUS_ITEMS, *(["HIGHESTMODSEQ"] if self.condstore else [])]
        list_status = with_status and caps.has("LIST-STATUS")
        if extended:
            options = ["SUBSCRIBED"]
            if caps.has("SPECIAL-USE"):
                options.append("SPECIAL-USE")
            if list_status:
                options.append(f"STATUS ({' '.join(status_items)})")
            args.append(Raw(f"RETURN ({' '.join(options)})".encode()))
        response = self._ok(self._run(*args), "list folders")
        listed: list[tuple[tuple[str, ...], str | None, str]] = []
        statuses: dict[str, dict[str, int]] = {}
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "LIST":
                listed.append(parse.parse_list(rest))
            elif kind == "STATUS":
                name, values = parse.parse_status(rest)
                statuses[name] = values
        if extended:
            subscribed = {n for f, _, n in listed if "\\subscribed" in lower_flags(f)}
        else:
            subscribed = self._lsub()
        folders = []
        for flags, delimiter, name in listed:
            status = statuses.get(name)
            selectable = not {"\\noselect", "\\nonexistent"} & lower_flags(flags)
            if with_status and not list_status and selectable:
                status = self.status(name, status_items)
            folders.append(
                parse.make_folder(name, flags, delimiter, name in subscribed, status)
            )
        return folders

    def _lsub(self) -> set[str]:
        response = self._ok(self._run(Raw(b"LSUB"), Raw(b'""'), Raw(b'"*"')), "lsub")
        names = set()
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "LSUB":
                names.add(parse.parse_list(rest)[2])
        return names

    def status(
        self, folder: str, items: Sequence[str] = STATUS_ITEMS
    ) -> dict[str, int]:
        """Return STATUS counts of a folder ({"MESSAGES": 3, ...})."""
        name = parse.encode_folder_name(folder)
        response = self._run(
            Raw(b"STATUS"), quoted(name), Raw(f"({' '.join(items)})".encode())
        )
        self._ok(response, "read the folder status", name)
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind == "STATUS":
                return parse.parse_status(rest)[1]
        return {}

    def personal_prefix(self) -> str:
        """Return the personal namespace's prefix ("INBOX." on Courier), or "".

        "" also for servers without NAMESPACE.
        """
        if not self.capabilities.has("NAMESPACE"):
            return ""
        response = self._ok(self._run(Raw(b"NAMESPACE")), "read the namespaces")
        for item in response.untagged:
            kind, _, rest = parse.classify(item)
            if kind != "NAMESPACE":
                continue
            personal = parse.parse(rest)[0]
            if personal:
                return parse.decode_folder_name(parse.text(personal[0][0]))
        return ""

    def create_folder(self, folder: str) -> None:
        """Create a folder (name as the server spells it, see module doc)."""
        name = parse.encode_folder_name(folder)
        self._ok(self._run(Raw(b"CREATE"), quoted(name)), "create the folder", name)

    def rename_folder(self, old: str, new: str) -> None:
        """Rename a folder."""
        old_name, new_name = (
            parse.encode_folder_name(old),
            parse.encode_folder_name(new),
        )
        if self.selected == old_name:
            self.unselect()
        response = self._run(Raw(b"RENAME"), quoted(old_name), quoted(new_name))
        self._ok(response, "rename the folder", old_name)

    def delete_folder(self, folder: str) -> None:
        """Delete a folder."""
        name = parse.encode_folder_name(folder)
        if self.selected == name:
            self.unselect()
        self._ok(self._run(Raw(b"DELETE"), quoted(name)), "delete the folder", name)

    def subscribe(self, folder: str, subscribed: bool = True) -> None:
        """Subscribe to (or with subscribed=False, unsubscribe from) a folder."""
        name = parse.encode_folder_name(folder)
        verb = b"SUBSCRIBE" if subscribed else b"UNSUBSCRIBE"
        self._ok(self._run(Raw(verb), quoted(name)), "change the subscription", name)

    # Selecting ----------------------------------------------------------

    def select(
        self,
        folder: str,
        *,
        readonly: bool = False,
        qresync: tuple[int, int] | None = None,
        known_up_to: int | None = None,
    ) -> SelectInfo:
        """SELECT (or EXAMINE) a folder.

        qresync=(uidvalidity, modseq) from the last sync asks a QRESYNC
        server for everything expunged or changed since; see SelectInfo.
        known_up_to, the highest UID the caller knows, bounds the UIDs
        asked about (Cyrus leaves out expunges above its highest UID left
        unless the known UIDs are named).
        """
        name = parse.encode_folder_name(folder)
        args: list[bytes] = [Raw(b"EXAMINE" if readonly else b"SELECT"), quoted(name)]
        use_qresync = qresync is not None and self.qresync
        if qresync is not None and use_qresync:
            known = b" 1:%d" % known_up_to if known_up_to else b""
            args.append(
                Raw(b"(QRESYNC (%d %d%s))" % (qresync[0], max(qresync[1], 1), known))
            )
        elif self.capabilities.has("CONDSTORE") and not self.condstore:
            args.append(Raw(b"(CONDSTORE)"))
        self.selected = None
        self.selected_info = None
        response = self._ok(self._run(*args), "open the folder", name)
        self.selected = name
        values: dict[str, int] = {}
        permanent: tuple[str, ...] = ()
        vanished: list[int] = []
        changed: list[FlagChange] = []
        exists = 0
        for item in response.untagged:
            kind, number, rest = parse.classify(item)
            if kind == "EXISTS" and number is not None:
                exists = number
            elif kind == "OK":
                code, data, _ = parse_code(rest)
                if code in ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ") and data:
                    values[code] = int(data)
                elif code == "PERMANENTFLAGS" and data:
                    permanent = parse.flags(parse.parse([data])[0])
            elif kind == "VANISHED":
                vanished.extend(vanished_uids(rest))
            elif kind == "FETCH" and number is not None:
                change = parse.flag_change(number, parse.parse_fetch(number, rest))
                if change is not None and change.uid is not None:
                    changed.append(change)
        if "UIDNEXT" not in values:
            # Courier's SELECT answer has none: without it every poll would
            # take the whole folder for new mail.
            values.update(
                {k: v for k, v in self.status(folder, ("UIDNEXT",)).items() if v}
            )
        uidvalidity = values.get("UIDVALIDITY", 0)
        resynced = use_qresync and qresync is not None and qresync[0] == uidvalidity
        self._view_checked_at = time.monotonic()
        self.selected_info = SelectInfo(
            folder=name,
            uidvalidity=uidvalidity,
            uidnext=values.get("UIDNEXT"),
            exists=exists,
            highestmodseq=values.get("HIGHESTMODSEQ"),
            readonly=readonly or response.code == "READ-ONLY",
            permanent_flags=permanent,
            resynced=resynced,
            vanished=tuple(sorted(vanished)) if resynced else (),
            changed=tuple(changed) if resynced else (),
        )
        return self.selected_info

    def open_folder(self, folder: str) -> SelectInfo:
        """Make folder the selected one (read-write), cheaply if it already is.

        SELECT makes the server load the folder's whole index: on a large
        Maildir folder that takes hundreds of milliseconds, NOOP about one.
        So a connection keeps its folder selected between tasks, and a task
        for the same folder only sends NOOP, which also tells whether the
        connection still works. UIDVALIDITY cannot change under a selected
        folder without the server closing it, so the SELECT answer stays
        good for that; counts such as EXISTS may be stale (see status()).

        Within VIEW_TRUSTED_FOR of the last SELECT or NOOP not even NOOP
        is sent: tasks often come in pairs (a body fetched, then its read flag
        stored). A connection that died meanwhile then fails the command
        itself with the ConnectionLost the NOOP would have raised.
        """
        name = parse.encode_folder_name(folder)
        info = self.selected_info
        selected = self.selected == name and info is not None and not info.readonly
        if info is not None and selected and self._view_good():
            return info
        return self.select(folder)

    def refresh_folder(self, folder: str) -> SelectInfo:
        """Like open_folder, but always bring the view up to date.

        Within VIEW_TRUSTED_FOR the view open_folder returns may still list
        messages another client expunged meanwhile; after this NOOP the
        server has told the connection of them, and commands no longer
        name them.
        """
        name = parse.encode_folder_name(folder)
        info = self.selected_info
        selected = self.selected == name and info is not None and not info.readonly
        if info is not None and selected and self._view_intact():
            return info
        return self.select(folder)

    def _view_good(self) -> bool:
        if time.monotonic() - self._view_checked_at < VIEW_TRUSTED_FOR:
            return True
        return self._view_intact()

    def _view_intact(self) -> bool:
        """Send NOOP; return False if the selected folder went bad under us.

        A folder deleted (or deleted and created again) by another client
        while selected still answers, from the old view: Dovecot then adds
        an untagged NO to every NOOP. Such a view is dropped, so the next
        step selects the folder afresh.
        """
        response = self._ok(self._run(Raw(b"NOOP")), "noop")
        for item in response.untagged:
            kind, _, _ = parse.classify(item)
            if kind in ("NO", "BAD", "BYE"):
                self.selected = None
                self.selected_info = None
                return False
        self._view_checked_at = time.monotonic()
        return True

    def current_state(self, folder: str) -> SelectInfo | None:
        """Return fresh counts of the selected folder without selecting it again.

        None when the folder went bad under the connection: select it anew.

        NOOP brings the server's view of the selected folder up to date
        (without it, Dovecot answers STATUS from the view as it was), then
        STATUS reads the counts from the index the server holds open: about
        a millisecond each, where SELECT of a large folder takes hundreds.
        The caller must have the folder selected (see open_folder).
        """
        info = self.selected_info
        if info is None or self.selected != info.folder:
            raise ValueError("current_state() needs the folder selected")
        if not self._view_intact():
            return None
        counts = self.status(folder, ("UIDVALIDITY", "UIDNEXT", "MESSAGES", *(
            ("HIGHESTMODSEQ",) if self.condstore else ()
        )))  # fmt: skip
        return SelectInfo(
            folder=info.folder,
            uidvalidity=counts.get("UIDVALIDITY", info.uidvalidity),
            uidnext=counts.get("UIDNEXT"),
            exists=counts.get("MESSAGES", info.exists),
            highestmodseq=counts.get("HIGHESTMODSEQ"),
            readonly=info.readonly,
            permanent_flags=info.permanent_flags,
        )

    def unselect(self) -> None:
        """Leave the selected folder without expunging anything."""
        if self.selected is None:
            return
        if self.capabilities.has("UNSELECT"):
            self._ok(self._run(Raw(b"UNSELECT")), "close the folder")
        else:
            # EXAMINE of a folder that cannot exist deselects without the
            # implicit expunge of CLOSE.
            self._run(Raw(b"EXAMINE"), quoted("webmail-no-folder-\u00a0"))
        self.selected = None
        self.selected_info = None
