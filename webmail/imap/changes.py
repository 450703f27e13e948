"""Message verbs that change a mailbox: flags, copies, moves, expunges, appends."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

from imapclient.datetime_util import datetime_to_INTERNALDATE

from webmail.imap import parse
from webmail.imap.core import SessionCore, flag_list, parse_code, uid_arg
from webmail.imap.types import (
    Quota,
    UidMap,
)
from webmail.imap.wire import (
    FileLiteral,
    Literal,
    Raw,
    Response,
    quoted,
)


class ChangeVerbs(SessionCore):
    """Storing flags, copying, moving, expunging and appending messages."""

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

    def copy(self, uids: Iterable[int], folder: str) -> UidMap:
        """Copy messages; return {old uid: new uid} when the server says."""
        self._need_selected()
        name = parse.encode_folder_name(folder)
        response = self._run(Raw(b"UID COPY"), uid_arg(uids), quoted(name))
        self._ok(response, "copy messages", name)
        return _copyuid(response)

    def move(self, uids: Iterable[int], folder: str) -> UidMap:
        """Move messages; return {old uid: new uid} when the server says.

        Without MOVE this copies, marks the originals \\Deleted and expunges
        exactly those UIDs (UID EXPUNGE). A server without UIDPLUS keeps the
        originals marked \\Deleted: a plain EXPUNGE could remove messages
        other clients marked, so it is never sent.
        """
        self._need_selected()
        uid_list = sorted(set(uids))
        if not uid_list:
            return UidMap()
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

    def expunge_selected(self) -> None:
        """EXPUNGE: remove every message of the folder marked \\Deleted.

        Only for servers without UIDPLUS, and only once the caller has made
        sure that no other client's messages are marked.
        """
        self._need_selected()
        self._ok(self._run(Raw(b"EXPUNGE")), "expunge")

    def append(
        self,
        folder: str,
        raw: bytes | BinaryIO,
        flags: Iterable[str] = (),
        date: datetime | None = None,
    ) -> int | None:
        """Store a message in a folder; return its UID when the server says.

        raw may be a file (opened for binary reading), sent as it is read.
        """
        name = parse.encode_folder_name(folder)
        args: list[bytes] = [Raw(b"APPEND"), quoted(name), flag_list(flags)]
        if date is not None:
            args.append(quoted(datetime_to_INTERNALDATE(date)))
        args.append(Literal(raw) if isinstance(raw, bytes) else FileLiteral.of(raw))
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


def _copyuid(response: Response) -> UidMap:
    if response.code == "COPYUID":
        return parse.parse_copyuid(response.code_data)
    for item in response.untagged:
        kind, _, rest = parse.classify(item)
        if kind == "OK":
            code, data, _ = parse_code(rest)
            if code == "COPYUID":
                return parse.parse_copyuid(data)
    return UidMap()
