"""Write a generated mailbox as a Maildir++ tree and have Dovecot index it.

Layout: INBOX is root/{cur,new,tmp}; a folder "Projects/Alpha" is
root/.Projects.Alpha, each level's name in IMAP modified UTF-7, as Dovecot
stores them. Messages go straight into cur/ with their flags in the info
suffix, and the file's mtime is set to the message date because Dovecot
reports a Maildir file's mtime as INTERNALDATE.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from webmail.mailgen.messages import Person
from webmail.mailgen.mime import encode_mutf7
from webmail.mailgen.planner import FOLDERS, INBOX, Planner

DEFAULT_END = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
DEFAULT_OWNER = Person("Demo User", "demo@example.org")


@dataclass(slots=True)
class FolderStats:
    """What one folder received."""

    messages: int = 0
    seen: int = 0
    flagged: int = 0
    answered: int = 0
    drafts: int = 0
    bytes: int = 0


@dataclass(slots=True)
class MailboxStats:
    """What generate_maildir wrote, for printing and for tests to check."""

    messages: int = 0
    bytes: int = 0
    replies: int = 0
    seconds: float = 0.0
    # Keyed by folder name with "/" between levels, e.g. "Projects/Alpha".
    folders: dict[str, FolderStats] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)


def folder_dir(root: Path, folder: str) -> Path:
    """Return the Maildir++ directory of folder ("INBOX" is root itself)."""
    if folder == INBOX:
        return root
    return root / ("." + ".".join(encode_mutf7(part) for part in folder.split("/")))


def _make_folders(root: Path) -> dict[str, str]:
    paths = {}
    for folder in FOLDERS:
        path = folder_dir(root, folder)
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if folder != INBOX:
            # Dovecot's own marker that a directory is a Maildir++ folder.
            (path / "maildirfolder").touch()
        paths[folder] = str(path / "cur") + "/"
    return paths


def _add_flags(flags: str, extra: str) -> str:
    # Maildir wants the info letters in ASCII order.
    return "".join(sorted(set(flags + extra)))


def generate_maildir(
    root: Path,
    *,
    count: int,
    seed: int,
    inbox_share: float = 0.8,
    end: datetime = DEFAULT_END,
    years: float = 5.0,
    owner: Person = DEFAULT_OWNER,
) -> MailboxStats:
    """Write count messages under root, the same bytes for the same arguments.

    inbox_share is the fraction of messages in INBOX; the rest spread over
    Sent, Archive and the other folders. Dates run back `years` from `end`.
    Running it into a Maildir that already has messages adds to them.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if not 0.0 <= inbox_share <= 1.0:
        raise ValueError("inbox_share must be between 0 and 1")
    started = time.perf_counter()
    root = Path(root)
    paths = _make_folders(root)
    stats = MailboxStats(folders={folder: FolderStats() for folder in FOLDERS})
    planner = Planner(
        count=count,
        seed=seed,
        inbox_share=inbox_share,
        end=int(end.timestamp()),
        years=years,
        owner=owner,
    )
    # Where each message went, so a later reply can mark it answered.
    written: list[tuple[str, str, str]] = []
    create = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for planned in planner:
        raw = planned.raw
        size = len(raw)
        vsize = size + raw.count(b"\n")
        if b"\r" in raw:
            vsize -= raw.count(b"\r\n")
        # S= and W= (size with CRLF line ends) spare Dovecot reading the
        # file to learn them.
        base = (
            f"{planned.timestamp}.M{planned.index % 1000000}P{planned.index}"
            f"Q{seed}.mailgen,S={size},W={vsize}"
        )
        flags = planned.flags
        fd = os.open(f"{paths[planned.folder]}{base}:2,{flags}", create, 0o600)
        try:
            os.write(fd, raw)
            os.utime(fd, (planned.timestamp, planned.timestamp))
        finally:
            os.close(fd)
        written.append((planned.folder, base, flags))

        folder = stats.folders[planned.folder]
        folder.messages += 1
        folder.bytes += size
        folder.seen += "S" in flags
        folder.flagged += "F" in flags
        folder.drafts += "D" in flags
        stats.kinds[planned.kind] = stats.kinds.get(planned.kind, 0) + 1
        stats.replies += planned.reply
        if planned.answers is not None:
            _mark_answered(paths, written, planned.answers, stats)
    stats.messages = count
    stats.bytes = sum(folder.bytes for folder in stats.folders.values())
    stats.seconds = time.perf_counter() - started
    return stats


def _mark_answered(
    paths: dict[str, str],
    written: list[tuple[str, str, str]],
    index: int,
    stats: MailboxStats,
) -> None:
    folder_name, base, flags = written[index]
    if "R" in flags:
        return
    new_flags = _add_flags(flags, "RS")
    directory = paths[folder_name]
    os.rename(f"{directory}{base}:2,{flags}", f"{directory}{base}:2,{new_flags}")
    written[index] = (folder_name, base, new_flags)
    folder = stats.folders[folder_name]
    folder.answered += 1
    folder.seen += "S" not in flags


def index_mailbox(doveadm: Callable[..., str], username: str) -> None:
    """Have Dovecot index every folder of username and subscribe to them all.

    doveadm runs one doveadm command (arguments after "doveadm") and returns
    its output, as devtools' DovecotServer.doveadm does.
    """
    doveadm("index", "-u", username, "*")
    names = [line for line in doveadm("mailbox", "list", "-u", username).splitlines()]
    names = [name for name in names if name]
    if names:
        doveadm("mailbox", "subscribe", "-u", username, *names)
