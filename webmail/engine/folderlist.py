"""Mirroring the server's folder list, counts and quota into the cache.

Runs in workers only (it talks IMAP); the functions take ids and return
what changed, for the caller to publish.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from webmail.engine.connections import get_pool, with_session
from webmail.imap import ImapSession
from webmail.imap.types import Folder as ServerFolder
from webmail.imap.types import Quota
from webmail.models import (
    FOLDER_KINDS,
    AccountState,
    Folder,
    OperationState,
    PendingOperation,
    lock_account,
)

logger = logging.getLogger(__name__)


@dataclass
class FolderListResult:
    """What a folder-list sync found."""

    # The tree, or the quota shown beside it, changed: the pages re-read it.
    changed: bool = False
    # Folders whose status says they hold news for the cache.
    stale: list[int] = field(default_factory=list)


def sync_folder_list(account_id: int, *, counts: bool = True) -> FolderListResult:
    """Mirror the server's folders (names, special use, counts) and the quota.

    counts=False lists the names only: an account's first sync shows its
    inbox before asking for the rest. On a large mailbox the server takes a
    few hundred milliseconds to open INBOX for STATUS and as long again to
    count the quota.
    """

    def work(
        session: ImapSession,
    ) -> tuple[list[ServerFolder], list[str], Quota | None, str]:
        return (
            session.list_folders(with_status=counts),
            sorted(session.capabilities.names),
            session.get_quota() if counts else None,
            session.personal_prefix(),
        )

    listed, capabilities, quota, prefix = with_session(account_id, work)
    result = apply_folder_list(account_id, listed, capabilities)
    AccountState.objects.filter(account_id=account_id).exclude(
        folder_prefix=prefix
    ).update(folder_prefix=prefix)
    if counts and record_usage(account_id, quota):
        # The quota meter beside the tree is re-read with it.
        result.changed = True
    return result


def record_usage(account_id: int, quota: Quota | None) -> bool:
    """Note the account's quota and this worker's connections to its server.

    Returns whether the quota's figures changed (the user's meter shows them).
    """
    pool = get_pool()
    used = quota.used_kb if quota else None
    limit = quota.limit_kb if quota else None
    before = (
        AccountState.objects.filter(account_id=account_id)
        .values_list("quota_used_kb", "quota_limit_kb")
        .first()
    )
    AccountState.objects.update_or_create(
        account_id=account_id,
        defaults={
            "quota_used_kb": used,
            "quota_limit_kb": limit,
            "open_connections": pool.open_count(account_id)
            + pool.open_count(account_id, idle=True),
            "usage_at": timezone.now(),
        },
    )
    return before != (used, limit)


def apply_folder_list(
    account_id: int, listed: Sequence[ServerFolder], capabilities: list[str]
) -> FolderListResult:
    """Write a LIST answer into the cache; folders gone from it are dropped.

    While folder operations wait in the outbox, the cache's folders stay
    as the user made them: a LIST from before the push would undo them.
    """
    result = FolderListResult()
    with transaction.atomic():
        lock_account(account_id)
        hold = PendingOperation.objects.filter(
            account_id=account_id, state=OperationState.PENDING, kind__in=FOLDER_KINDS
        ).exists()
        existing = {f.name: f for f in Folder.objects.filter(account_id=account_id)}
        guessed = guess_special_use(listed)
        chosen = {r.chosen_use.lower() for r in existing.values() if r.chosen_use}
        by_path: dict[tuple[str, ...], Folder] = {}
        for kept in existing.values() if hold else ():
            by_path[tuple(kept.path)] = kept
        # Rows are written in id order (new ones last, in LIST order): a
        # move locks its two folders in that order too (mail/changes.py),
        # and on PostgreSQL the opposite order would deadlock with it.
        known = {name: row.id for name, row in existing.items()}
        for item in sorted(listed, key=lambda i: known.get(i.name, math.inf)):
            row = existing.pop(item.name, None)
            if row is None and hold:
                continue
            if row is None:
                row = Folder(account_id=account_id, name=item.name)
                result.changed = True
            before = (row.display_name, row.special_use, row.subscribed)
            row.display_name = item.display_name
            row.path = list(item.path)
            row.delimiter = item.delimiter or ""
            row.special_use = _use(row, item, guessed, chosen)
            row.flags = list(item.flags)
            if not hold:
                row.subscribed = item.subscribed
            row.selectable = item.selectable
            if item.messages is not None:
                row.total = item.messages
            if item.unseen is not None:
                row.unseen = item.unseen
            if before != (row.display_name, row.special_use, row.subscribed):
                result.changed = True
            if row.pk is None:
                row.save()
            else:
                # Only what LIST told: the folder's sync marks (UIDNEXT, the
                # backfill and preview marks), written meanwhile by the
                # folder's own task, would go back to what was read above.
                row.save(update_fields=_listed_fields(item, hold))
            by_path[item.path] = row
            if row.selectable and _looks_stale(row, item):
                result.stale.append(row.id)
        for row in by_path.values():
            parent = by_path.get(tuple(row.path[:-1])) if len(row.path) > 1 else None
            if row.parent_id != (parent.id if parent else None):
                row.parent = parent
                row.save(update_fields=["parent"])
        if existing and not hold:
            result.changed = True
            Folder.objects.filter(id__in=[f.id for f in existing.values()]).delete()
        AccountState.objects.update_or_create(
            account_id=account_id,
            defaults={
                "folders_synced_at": timezone.now(),
                "capabilities": capabilities,
                "error": "",
                "error_kind": "",
                "error_at": None,
            },
        )
    return result


def _listed_fields(item: ServerFolder, hold: bool) -> list[str]:
    fields = ["display_name", "path", "delimiter", "special_use", "flags", "selectable"]
    if not hold:
        fields.append("subscribed")
    if item.messages is not None:
        fields.append("total")
    if item.unseen is not None:
        fields.append("unseen")
    return fields


# Names that mean a special folder on servers that do not say (no SPECIAL-USE),
# lower case.
# The Japanese ones are what Outlook and Thunderbird name them in Japanese.
SPECIAL_NAMES = {
    "\\Drafts": ("drafts", "draft", "下書き"),
    "\\Sent": (
        "sent", "sent messages", "sent items", "sent mail", "送信済みアイテム",
        "送信済み", "送信済みメール",
    ),
    "\\Trash": (
        "trash", "deleted messages", "deleted items", "bin", "削除済みアイテム",
        "ごみ箱", "ゴミ箱",
    ),
    "\\Junk": ("junk", "spam", "junk e-mail", "junk mail", "迷惑メール"),
    "\\Archive": ("archive", "archives", "アーカイブ"),
}  # fmt: skip


def guess_special_use(listed: Sequence[ServerFolder]) -> dict[str, str]:
    """Return {server name: special use} for folders the server does not mark.

    A folder named like a special one ("Sent", "Deleted Messages"), at the
    top or right under INBOX (the "INBOX." layout), is taken for it when no
    folder has that use already.
    """
    taken = {item.special_use.lower() for item in listed if item.special_use}
    found: dict[str, str] = {}
    for use, names in SPECIAL_NAMES.items():
        if use.lower() in taken:
            continue
        for item in listed:
            path = item.path
            top = len(path) == 1 or (len(path) == 2 and path[0].upper() == "INBOX")
            if top and not item.special_use and path[-1].lower() in names:
                found[item.name] = use
                break
    return found


def _use(
    row: Folder, item: ServerFolder, guessed: dict[str, str], chosen: set[str]
) -> str:
    """The folder's special use: the user's choice, else the server's or a guess.

    A use the user gave another folder is taken from this one.
    """
    if row.chosen_use:
        return row.chosen_use
    use = item.special_use or guessed.get(item.name, "")
    return "" if use.lower() in chosen else use


def _looks_stale(row: Folder, item: ServerFolder) -> bool:
    if row.synced_at is None:
        return False  # never opened: synced when it is
    if item.uidvalidity is not None and item.uidvalidity != row.uidvalidity:
        return True
    if item.uidnext is not None and item.uidnext != row.uidnext:
        return True
    return item.highestmodseq is not None and item.highestmodseq != row.highestmodseq
