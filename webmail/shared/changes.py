"""Changes to mail recorded in the cache and the outbox, in one transaction.

Both sides record changes: the pages for what the user does
(webmail.mail.changes), the worker for the read mark of a message whose
body it has just handed to a reader. Recording sends nothing: after the
commit, the page side asks the account's worker to push and tells the
user's other pages; the worker pushes on its own connections.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.http import Http404

from webmail.models import (
    Folder,
    Message,
    OperationKind,
    PendingOperation,
    among,
    lock_folder,
    lock_user_folder,
    move_counts,
)
from webmail.shared import events
from webmail.shared.flags import FIELDS, apply_flags

_FLAG = re.compile(r"^\\?[A-Za-z0-9$_.\-]+$")


def check_flags(flags: Iterable[str]) -> list[str]:
    """Return the flags as a list; ValueError for one that cannot be set."""
    names = list(flags)
    for name in names:
        if not _FLAG.match(name) or name.lower() == "\\recent":
            raise ValueError(f"Not a flag that can be set: {name!r}")
    return names


def flags_event(folder_id: int, uids: list[int]) -> dict[str, Any]:
    """Return the event that tells the user's pages of changed flags."""
    return {"type": events.FLAGS, "folder": folder_id, "uids": uids}


def operation(
    account_id: int,
    kind: str,
    folder_id: int,
    uids: Sequence[int],
    payload: dict[str, Any],
    current: tuple[str, int | None] | None,
) -> PendingOperation:
    """Record a server operation; current is what lock_folder returned."""
    if current is None:
        raise Http404("No such folder.")
    return PendingOperation.objects.create(
        account_id=account_id,
        kind=kind,
        folder_id=folder_id,
        folder_name=current[0],
        uidvalidity=current[1] or 0,
        uids=sorted(uids),
        payload=payload,
    )


def set_flags_by_ids(
    user_id: int,
    account_id: int,
    folder_id: int,
    uids: Iterable[int],
    add: Iterable[str],
    remove: Iterable[str],
) -> list[int]:
    """Add and remove flags of a user's messages; return the UIDs that changed.

    The folder's lock checks that user, account and folder belong together
    (a 404 otherwise).
    """
    add, remove = check_flags(add), check_flags(remove)
    wanted = {int(u) for u in uids}
    # Inside a caller's transaction (an undoable move), no savepoint: on
    # PostgreSQL each is two more round trips, and nothing here is retried.
    with transaction.atomic(savepoint=False):
        current = lock_user_folder(user_id, account_id, folder_id)
        rows = list(
            Message.objects.filter(folder_id=folder_id, uid__in=wanted).only(
                "uid", "modseq", "keywords", *FIELDS.values()
            )
        )
        return record_flags((account_id, folder_id), current, rows, add, remove)


def record_flags(
    ids: tuple[int, int],
    current: tuple[str, int | None] | None,
    rows: list[Message],
    add: list[str],
    remove: list[str],
) -> list[int]:
    """Change rows read under the folder's lock; save and record what changed.

    ids: the account's and the folder's, all that is needed of them
    (loading their rows would cost more than the rest of the change).
    Returns the changed UIDs, sorted.
    """
    account_id, folder_id = ids
    changed: list[Message] = []
    unseen_delta = 0
    for row in rows:
        before = (row.seen, row.flagged, row.answered, row.forwarded, row.draft)
        before_all = (*before, row.deleted, list(row.keywords))
        was_seen = row.seen
        apply_flags(row, add, remove)
        after_all = (
            row.seen,
            row.flagged,
            row.answered,
            row.forwarded,
            row.draft,
            row.deleted,
            list(row.keywords),
        )
        if after_all != before_all:
            changed.append(row)
            unseen_delta += int(was_seen) - int(row.seen)
    if not changed:
        return []
    _save_flags(changed, add, remove)
    modseqs = [row.modseq for row in changed if row.modseq]
    operation(
        account_id,
        OperationKind.FLAGS,
        folder_id,
        [row.uid for row in changed],
        {"add": add, "remove": remove, "modseq": max(modseqs) if modseqs else None},
        current,
    )
    if unseen_delta:
        Folder.objects.filter(id=folder_id).update(
            unseen=Greatest(F("unseen") + unseen_delta, 0)
        )
    return sorted(row.uid for row in changed)


def _save_flags(changed: list[Message], add: list[str], remove: list[str]) -> None:
    """Write the changed rows' flags: one UPDATE for the named flags.

    After apply_flags every changed row holds the same value in each named
    field touched, so a plain UPDATE does; bulk_update's per-row CASE costs
    seconds for a few hundred rows. Keywords differ per row.
    """
    flags = [flag.lower() for flag in (*add, *remove)]
    touched = {FIELDS[flag] for flag in flags if flag in FIELDS}
    if touched:
        values = {name: getattr(changed[0], name) for name in touched}
        Message.objects.filter(id__in=[row.id for row in changed]).update(**values)
    if any(flag not in FIELDS for flag in flags):
        Message.objects.bulk_update(changed, ["keywords"])


# Given the rows a move takes out, before they go: what to do with the
# operations once they are recorded (None: nothing). The page side keeps the
# rows so that an undo can put them back (webmail/mail/snapshots.py).
Keeper = Callable[[list[int]], Callable[[list[PendingOperation]], None] | None]

# UIDs named by one operation at most: the worker sends each as one command
# (and a search of the UIDs first), whose line a server may cap at 8 KB.
OPERATION_UIDS = 500


def take_out(
    account_id: int,
    folder: Folder,
    uids: Iterable[int],
    kind: str,
    payload: dict[str, Any],
    target: Folder | None,
    keeper: Keeper | None = None,
) -> list[int]:
    """Remove messages from a folder's cache and record the server operation.

    A move (target given) or a deletion for good, in one transaction, as
    one operation per OPERATION_UIDS; the folders' counts follow. Returns
    the UIDs taken out, sorted: those of uids still in the cache.
    """
    wanted = {int(u) for u in uids}
    # Inside a caller's transaction (an undoable move), no savepoint: on
    # PostgreSQL each is two more round trips, and nothing here is retried.
    with transaction.atomic(savepoint=False):
        if target is not None and target.id < folder.id:
            # Folder rows are locked in id order, as the folder list's sync
            # writes them (engine/folderlist.py): on PostgreSQL, two
            # transactions taking two rows in opposite orders deadlock.
            lock_folder(target.id)
        current = lock_folder(folder.id)
        rows = Message.objects.filter(
            among("webmail_message.uid", wanted), folder=folder
        )
        # One read gives the UIDs and the counts (a 500-UID IN costs more to
        # build than to run: each query over it counts).
        found = list(rows.values_list("id", "uid", "seen"))
        if not found:
            return []
        moved = sorted(uid for _, uid, _ in found)
        unseen = sum(1 for *_, seen in found if not seen)
        found_ids = [row_id for row_id, *_ in found]
        keep = keeper(found_ids) if keeper is not None else None
        taken = among("webmail_message.id", found_ids)
        Message.objects.filter(taken).delete()
        ops = [
            operation(account_id, kind, folder.id, part, payload, current)
            for part in (
                moved[start : start + OPERATION_UIDS]
                for start in range(0, len(moved), OPERATION_UIDS)
            )
        ]
        if keep is not None:
            keep(ops)
        move_counts(folder.id, target.id if target else None, len(found), unseen)
    return moved


def expunged_event(folder_id: int, uids: list[int]) -> dict[str, Any]:
    """Return the event that tells the user's pages of messages taken out."""
    return {"type": events.EXPUNGED, "folder": folder_id, "uids": uids}
