"""The verbs that change mail: flags, moves, copies, deletes.

Each change updates the cache and records a PendingOperation in one
transaction (webmail.shared.changes); after the commit, once the page has
its answer, the account's worker is asked to apply it (webmail.door) and
the user's other pages are told (webmail.shared.events).

Callers pass an account they got through accounts.access (the user's own);
folder and message ids are checked against that account here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from django.db import transaction
from django.http import Http404

from accounts.models import MailAccount, User
from webmail import door
from webmail.after_response import run_after_response
from webmail.mail import snapshots
from webmail.mail.folders import trash_or_new
from webmail.mail.reading import _message, special_folder
from webmail.models import (
    Folder,
    Message,
    OperationKind,
    PendingOperation,
    lock_folder,
    lock_user_folder,
)
from webmail.shared import events
from webmail.shared.changes import (
    Keeper,
    check_flags,
    expunged_event,
    flags_event,
    operation,
    record_flags,
    set_flags_by_ids,
    take_out,
)


def _queue(account_id: int, user_id: int, event: dict[str, Any] | None) -> None:
    def after_commit() -> None:
        # The worker, then the user's other tabs, hear of it once this tab
        # has its answer.
        run_after_response(partial(door.push_changes, account_id))
        if event is not None:
            message = {**event, "account": account_id}
            run_after_response(partial(events.publish, user_id, message))

    transaction.on_commit(after_commit)


def set_flags(
    account: MailAccount,
    folder: Folder,
    uids: Iterable[int],
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> int:
    """Add and remove flags (IMAP names: "\\Seen", "$Forwarded", keywords).

    Returns how many messages changed in the cache.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    changed = set_flags_by_ids(
        account.user_id, account.id, folder.id, uids, add, remove
    )
    if changed:
        _queue(account.id, account.user_id, flags_event(folder.id, changed))
    return len(changed)


def flag_message(
    user: User,
    account_id: int,
    folder_id: int,
    uid: int,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> Message:
    """set_flags for one message of the user's; return it as the cache has it now.

    The star's path, taken on every click, in the fewest statements: the
    folder's lock is also the check that the folder is the user's (a 404
    otherwise, as from user_folder), and the message is read once, whole,
    under the lock, for the page to show.
    """
    if not user.is_active:
        raise Http404("No such folder.")
    add, remove = check_flags(add), check_flags(remove)
    with transaction.atomic():
        current = lock_user_folder(user.id, account_id, folder_id)
        if current is None:
            raise Http404("No such folder.")
        message = _message(folder_id, uid)
        ids = (account_id, folder_id)
        changed = record_flags(ids, current, [message], add, remove)
        if changed:
            _queue(account_id, user.id, flags_event(folder_id, changed))
    return message


def mark_seen(
    account: MailAccount, folder: Folder, uids: Iterable[int], seen: bool = True
) -> int:
    """Mark messages read (or unread)."""
    flag = ["\\Seen"]
    return set_flags(
        account, folder, uids, add=flag if seen else (), remove=() if seen else flag
    )


def _keeper(folder: Folder, target: Folder | None) -> Keeper | None:
    """Keep a move's rows for an undo, inside snapshots.taking()."""
    if target is None:
        return None

    def capture(ids: list[int]) -> Callable[[list[PendingOperation]], None] | None:
        kept = snapshots.capture(ids)
        if kept is None:
            return None
        return lambda ops: snapshots.keep(ops, folder.id, target.id, kept)

    return capture


def _take_out(
    account: MailAccount,
    folder: Folder,
    uids: Iterable[int],
    kind: str,
    payload: dict[str, Any],
    target: Folder | None,
) -> int:
    """Remove messages from a folder's cache and queue the server operation."""
    # No savepoint inside undoable()'s transaction (see take_out).
    with transaction.atomic(savepoint=False):
        moved = take_out(
            account.id, folder, uids, kind, payload, target, _keeper(folder, target)
        )
        if moved:
            _queue(account.id, account.user_id, expunged_event(folder.id, moved))
    return len(moved)


def _target(account: MailAccount, folder: Folder, target: Folder) -> None:
    if folder.account_id != account.id or target.account_id != account.id:
        raise Http404("No such folder.")
    if not target.selectable:
        raise ValueError(f'"{target.display_name}" cannot hold messages.')


def move_messages(
    account: MailAccount, folder: Folder, uids: Iterable[int], target: Folder
) -> int:
    """Move messages to another folder of the account; return how many."""
    _target(account, folder, target)
    if target.id == folder.id:
        return 0
    payload = {"target": target.name, "target_id": target.id}
    return _take_out(account, folder, uids, OperationKind.MOVE, payload, target)


def copy_messages(
    account: MailAccount, folder: Folder, uids: Iterable[int], target: Folder
) -> int:
    """Copy messages to another folder; they appear there after its sync."""
    _target(account, folder, target)
    wanted = sorted({int(u) for u in uids})
    with transaction.atomic():
        current = lock_folder(folder.id)
        present = sorted(
            Message.objects.filter(folder=folder, uid__in=wanted).values_list(
                "uid", flat=True
            )
        )
        if not present:
            return 0
        payload = {"target": target.name, "target_id": target.id}
        operation(account.id, OperationKind.COPY, folder.id, present, payload, current)
        _queue(account.id, account.user_id, None)
    return len(present)


def delete_messages(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Move messages to Trash; in Trash or Junk delete them for good.

    A mailbox without Trash gets one (Courier marks none): a delete never
    destroys mail unless asked in a bin, where the pages confirm it first.
    Returns 0 when no Trash can be made (nothing is deleted).
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    if (folder.special_use or "").lower() in ("\\trash", "\\junk"):
        return delete_forever(account, folder, uids)
    trash = special_folder(account, "\\Trash") or trash_or_new(account)
    if trash is None:
        return 0
    return move_messages(account, folder, uids, trash)


def delete_forever(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Delete messages for good, wherever they are; return how many."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    return _take_out(account, folder, uids, OperationKind.EXPUNGE, {}, None)


def expunge(account: MailAccount, folder: Folder) -> int:
    """Delete for good the folder's messages marked \\Deleted."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    uids = Message.objects.filter(folder=folder, deleted=True).values_list(
        "uid", flat=True
    )
    return _take_out(account, folder, list(uids), OperationKind.EXPUNGE, {}, None)
