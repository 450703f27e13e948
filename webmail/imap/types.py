"""Frozen values the IMAP facade returns: nothing here talks to a server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

Address = tuple[str, str]
"""A (display name, address) pair; the name is "" when the mail gives none."""


@dataclass(frozen=True)
class Capabilities:
    """What the server offers after login, upper-cased (``"CONDSTORE"``)."""

    names: frozenset[str]

    def has(self, name: str) -> bool:
        """Return whether the server announced the capability ``name``."""
        return name.upper() in self.names

    def auth_mechanisms(self) -> frozenset[str]:
        """Return the SASL mechanisms of ``AUTH=`` capabilities."""
        return frozenset(n[5:] for n in self.names if n.startswith("AUTH="))


@dataclass(frozen=True)
class Folder:
    """One mailbox of a LIST answer.

    ``name`` is spelled as the server spells it (modified UTF-7): pass it
    back unchanged to every session method. ``display_name`` and
    ``parent_parts`` are decoded for people. The status counts are None
    when they were not asked for or the folder cannot be selected.
    """

    name: str
    display_name: str
    delimiter: str | None
    parent_parts: tuple[str, ...]
    special_use: str | None
    flags: tuple[str, ...]
    subscribed: bool
    messages: int | None = None
    unseen: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    highestmodseq: int | None = None

    @property
    def path(self) -> tuple[str, ...]:
        """Return the decoded names from the top level down to this folder."""
        return (*self.parent_parts, self.display_name)

    @property
    def selectable(self) -> bool:
        """Return whether the folder can hold messages (SELECT works)."""
        lowered = {flag.lower() for flag in self.flags}
        return not lowered & {"\\noselect", "\\nonexistent"}


@dataclass(frozen=True)
class FlagChange:
    """A message whose flags changed, as a FETCH response reported it.

    ``uid`` is None only for unsolicited FETCH responses of servers without
    QRESYNC, which name the message by sequence number (``seq``) alone.
    """

    uid: int | None
    flags: tuple[str, ...]
    modseq: int | None = None
    seq: int | None = None


@dataclass(frozen=True)
class SelectInfo:
    """The state of a folder after SELECT or EXAMINE.

    ``resynced`` is True when QRESYNC data was sent and accepted (same
    UIDVALIDITY): ``vanished`` and ``changed`` then list every message
    expunged or changed since the given MODSEQ. Otherwise they are empty
    and the caller must diff by other means.
    """

    folder: str
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None
    readonly: bool
    permanent_flags: tuple[str, ...]
    resynced: bool = False
    vanished: tuple[int, ...] = ()
    changed: tuple[FlagChange, ...] = ()


@dataclass(frozen=True)
class Changes:
    """What changed in the selected folder since a MODSEQ."""

    changed: tuple[FlagChange, ...]
    vanished: tuple[int, ...]
    vanished_known: bool
    """False when the server cannot report expunges (CONDSTORE only)."""


@dataclass(frozen=True)
class SearchResult:
    """The answer to a search: UIDs in ascending order, and their summary."""

    uids: tuple[int, ...]
    count: int
    min: int | None
    max: int | None


@dataclass(frozen=True)
class Envelope:
    """The ENVELOPE of a message, decoded to text."""

    date: datetime | None
    subject: str
    from_: tuple[Address, ...]
    sender: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    in_reply_to: str | None
    message_id: str | None


@dataclass(frozen=True)
class BodyPart:
    """One node of a simplified BODYSTRUCTURE.

    ``section`` is what to pass to fetch_part (``"1"``, ``"2.1"``); it is
    "" for the top multipart of a message. ``size`` is in octets as
    transferred (before decoding ``encoding``).
    """

    section: str
    content_type: str
    charset: str | None = None
    encoding: str | None = None
    size: int = 0
    filename: str | None = None
    disposition: str | None = None
    content_id: str | None = None
    parts: tuple[BodyPart, ...] = ()

    @property
    def is_multipart(self) -> bool:
        """Return whether this is a multipart/* container."""
        return self.content_type.startswith("multipart/")

    @property
    def is_attachment(self) -> bool:
        """Return whether a reader would see this part as an attachment."""
        if self.parts and not self.content_type.startswith("message/"):
            return False
        if self.disposition == "attachment":
            return True
        if self.content_type == "message/rfc822":
            return True
        return self.filename is not None and self.disposition != "inline"

    def walk(self) -> Iterator[BodyPart]:
        """Yield this part and every part below it, depth first."""
        yield self
        for part in self.parts:
            yield from part.walk()


@dataclass(frozen=True)
class MessageSummary:
    """What a message list needs of one message, without its body."""

    uid: int
    flags: tuple[str, ...]
    modseq: int | None
    envelope: Envelope
    size: int
    internaldate: datetime | None
    references: tuple[str, ...]
    bodystructure: BodyPart
    has_attachments: bool = field(init=False)

    def __post_init__(self) -> None:
        # Derived, so it can never disagree with the part tree.
        attached = any(p.is_attachment for p in self.bodystructure.walk())
        object.__setattr__(self, "has_attachments", attached)


@dataclass(frozen=True)
class MessageRef:
    """A message named the only stable way IMAP allows."""

    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class Quota:
    """Usage and limits of the quota root of INBOX (None: no limit)."""

    root: str
    used_kb: int | None
    limit_kb: int | None
    messages: int | None = None
    message_limit: int | None = None


@dataclass(frozen=True)
class Exists:
    """The folder now holds ``count`` messages (new mail arrived)."""

    count: int


@dataclass(frozen=True)
class Expunged:
    """The message at sequence number ``seq`` was expunged."""

    seq: int


@dataclass(frozen=True)
class Vanished:
    """Messages with these UIDs were expunged (QRESYNC servers)."""

    uids: tuple[int, ...]


@dataclass(frozen=True)
class FolderStatus:
    """Counts of a folder, as a STATUS response gives them.

    NOTIFY reports changes to folders other than the selected one this way,
    with only the counts that changed: the others are None. ``folder`` is
    spelled as the server spells it.
    """

    folder: str
    messages: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    unseen: int | None = None
    highestmodseq: int | None = None

    def counts(self) -> dict[str, int]:
        """Return the counts the response held, by STATUS item name."""
        values = {
            "MESSAGES": self.messages,
            "UIDNEXT": self.uidnext,
            "UIDVALIDITY": self.uidvalidity,
            "UNSEEN": self.unseen,
            "HIGHESTMODSEQ": self.highestmodseq,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class NotificationsLost:
    """The server stopped NOTIFY news (NOTIFICATIONOVERFLOW): check everything."""


IdleEvent = Exists | Expunged | Vanished | FlagChange | FolderStatus | NotificationsLost
"""What an IDLE or NOOP reports: news of the selected folder, and with
NOTIFY the counts of other folders (FolderStatus)."""


class UidMap(dict[int, int]):
    """Source to destination UIDs of a COPY or MOVE (the server's COPYUID).

    uidvalidity is the destination folder's, which the UIDs belong to
    (None when the server did not say).
    """

    uidvalidity: int | None = None
