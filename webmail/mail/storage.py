"""Where the mailbox's space goes: the quota, folder sizes, the largest mail.

Everything here reads the cache with aggregate or index-ordered queries
(the indexes message_by_size and message_attachments_by_size); nothing asks
the server. Freeing space goes through the outbox like every other delete:
to Trash, or for good for what is in Trash or Junk already.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Sum

from accounts.models import MailAccount
from webmail.mail import bulk, changes, reading
from webmail.mail.actions import is_bin
from webmail.models import AccountState, Folder, Message

# Above these shares of the quota the meter warns, then warns harder.
WARN_PERCENT = 80
FULL_PERCENT = 95
# How many messages each of the page's two lists shows.
LARGEST = 25
# What the lists read of a message.
ROW_FIELDS = (
    "folder_id", "uid", "from_name", "from_address", "subject", "date", "size",
    "has_attachments",
)  # fmt: skip


@dataclass(frozen=True)
class Quota:
    """The account's storage against its server quota, in bytes."""

    used: int
    limit: int
    # For the meter's colours (<meter low high>).
    warn_at: int = WARN_PERCENT
    full_at: int = FULL_PERCENT

    @property
    def percent(self) -> int:
        return min(100, self.used * 100 // self.limit)

    @property
    def level(self) -> str:
        """ "full" from FULL_PERCENT, "warn" from WARN_PERCENT, else ""."""
        if self.percent >= FULL_PERCENT:
            return "full"
        if self.percent >= WARN_PERCENT:
            return "warn"
        return ""


def quota_of(account: MailAccount) -> Quota | None:
    """Return the quota the worker last read, or None where there is none.

    An account from accounts_for_user() has its state loaded already.
    """
    try:
        state = account.sync_state
    except AccountState.DoesNotExist:
        return None
    if state.quota_used_kb is None or not state.quota_limit_kb:
        return None
    return Quota(state.quota_used_kb * 1024, state.quota_limit_kb * 1024)


@dataclass(frozen=True)
class FolderSize:
    """How much of the cache one folder holds."""

    folder: Folder
    messages: int
    size: int


def folder_sizes(folders: Iterable[Folder]) -> list[FolderSize]:
    """Return the folders that can hold mail, largest first, from one query."""
    held = [f for f in folders if f.selectable]
    sums = {
        row["folder_id"]: (row["n"], row["bytes"] or 0)
        for row in Message.objects.filter(folder_id__in=[f.id for f in held])
        .order_by()
        .values("folder_id")
        .annotate(n=Count("*"), bytes=Sum("size"))
    }
    found = [FolderSize(f, *sums.get(f.id, (0, 0))) for f in held]
    return sorted(found, key=lambda row: (-row.size, -row.messages))


def load_missing(account: MailAccount, folders: Iterable[Folder]) -> bool:
    """Ask the worker for folders never loaded; return if any folder is partial.

    A folder nobody opened yet is not in the cache at all: the page would
    count it empty. Its sync loads it, newest first, then backfills on its
    own (a folder already backfilling is not asked again: each sync that
    finds older mail queues another backfill).
    """
    partial = [f for f in folders if f.selectable and not f.complete]
    for folder in partial:
        if folder.backfill_below_uid is None:
            reading.check_folder(account, folder)
    return bool(partial)


def largest_messages(
    folders: Iterable[Folder], attachments: bool = False, limit: int = LARGEST
) -> list[Message]:
    """Return the largest cached messages across the folders, largest first.

    Each folder's top of its size index, as one UNION ALL of per-folder
    queries (a query over the whole account would sort all its messages),
    then the rows of the winners; attachments: only messages with some.
    """
    parts: list[str] = []
    params: list[Any] = []
    for folder in folders:
        if not folder.selectable:
            continue
        rows = Message.objects.filter(folder_id=folder.id)
        if attachments:
            rows = rows.filter(has_attachments=True)
        top = rows.order_by("-size").values_list("id", "size")[:limit]
        sql, values = top.query.sql_with_params()
        # Django compiled it; the values stay parameters.
        parts.append(f"SELECT * FROM ({sql}) AS top{len(parts)}")  # noqa: S608
        params.extend(values)
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = cursor.fetchall()
    winners = [row[0] for row in heapq.nlargest(limit, found, key=lambda r: r[1])]
    loaded = Message.objects.filter(id__in=winners).only(*ROW_FIELDS).in_bulk()
    return [loaded[i] for i in winners if i in loaded]


@dataclass
class Selection:
    """Selected messages grouped by what a delete does to them."""

    # folder -> UIDs: moved to Trash.
    to_trash: dict[Folder, list[int]] = field(default_factory=dict)
    # folder -> UIDs: deleted for good (in Trash or Junk, or there is no Trash).
    for_good: dict[Folder, list[int]] = field(default_factory=dict)

    @property
    def trash_count(self) -> int:
        return sum(len(uids) for uids in self.to_trash.values())

    @property
    def for_good_count(self) -> int:
        return sum(len(uids) for uids in self.for_good.values())


def selection(account: MailAccount, ids: Iterable[int]) -> Selection:
    """Group the account's messages named by id; others' ids are left out."""
    by_folder: dict[int, list[int]] = {}
    for chunk in bulk.chunks(sorted({int(i) for i in ids}), bulk.CHUNK):
        rows = Message.objects.filter(id__in=chunk, folder__account=account)
        for folder_id, uid in rows.values_list("folder_id", "uid"):
            by_folder.setdefault(folder_id, []).append(uid)
    has_trash = reading.special_folder(account, "\\Trash") is not None
    picked = Selection()
    for folder in Folder.objects.filter(id__in=by_folder, account=account):
        bin_here = is_bin(folder) or not has_trash
        group = picked.for_good if bin_here else picked.to_trash
        group[folder] = sorted(by_folder[folder.id])
    return picked


def delete(account: MailAccount, picked: Selection) -> tuple[int, int]:
    """Delete the selection; return how many went to Trash, how many for good."""
    trashed = deleted = 0
    for folder, uids in picked.to_trash.items():
        trashed += bulk.apply(account, folder, "delete", uids)
    for folder, uids in picked.for_good.items():
        for chunk in bulk.chunks(uids, bulk.CHUNK):
            deleted += changes.delete_forever(account, folder, chunk)
    return trashed, deleted
