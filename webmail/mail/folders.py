"""The verbs that change folders: create, rename, move, delete, subscribe.

Like the message verbs (webmail.mail.changes), each updates the cache and
records a PendingOperation in one transaction; after the commit the
account's worker is asked to apply it (webmail.engine.folders) and the
user's pages are told to reload their folder tree. The tree shows the
change at once; the worker reads the server's list back after the push,
so a refusal puts the tree back as the server has it.

Names are checked first (webmail.shared.foldernames): a bad one raises
BadFolderName, whose code the page turns into a message (NAME_PROBLEMS).

Callers pass an account they got through accounts.access (the user's own);
folder ids are checked against that account here.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.http import Http404

from accounts.models import MailAccount
from webmail import door
from webmail.after_response import run_after_response
from webmail.models import (
    AccountState,
    Folder,
    OperationKind,
    PendingOperation,
    lock_account,
)
from webmail.shared import events
from webmail.shared.foldernames import BadFolderName, check_name, server_name
from webmail.shared.prepared import Prepared

__all__ = [
    "BadFolderName",
    "account_folder",
    "all_folders",
    "create_folder",
    "create_special_folders",
    "delete_folder",
    "delimiter_of",
    "folder_and_below",
    "messages_in",
    "missing_special_folders",
    "rename_folder",
    "set_subscribed",
]


def _is_inbox(folder: Folder) -> bool:
    return folder.name.upper() == "INBOX"


def delimiter_of(account: MailAccount) -> str:
    """Return the server's hierarchy delimiter, as LIST gave it ("/", ".")."""
    found = (
        Folder.objects.filter(account=account)
        .exclude(delimiter="")
        .values_list("delimiter", flat=True)
        .first()
    )
    return found or "/"


# Every list page asks (the folder tree): compiled once (webmail/shared/prepared.py).
_PREFIX = Prepared[Any](
    lambda account_id: (
        AccountState.objects.filter(account_id=account_id)
        .order_by("pk")
        .values_list("folder_prefix")[:1]
    )
)


def personal_top(account_id: int, prefix: str | None = None) -> tuple[str, ...]:
    """Return the path the user's own folders are under: () or ("INBOX",).

    For showing folders as the user thinks of them: on Courier "INBOX.Sent"
    is "Sent", at the top, not a folder inside Inbox. prefix: the account's
    stored personal namespace prefix, when the caller has read it already.
    """
    if prefix is None:
        rows = _PREFIX.values(account_id)
        prefix = rows[0][0] if rows else None
    if not prefix or prefix[-1].isalnum():
        return ()
    return tuple(part for part in prefix[:-1].split(prefix[-1]) if part)


def _top(account: MailAccount, delimiter: str) -> list[str]:
    """Return the path where the user's own folders start: [] or ["INBOX"].

    Courier and old Cyrus keep every folder under "INBOX." (their personal
    namespace, webmail.imap personal_prefix): "the top level" is there.
    """
    prefix = (
        AccountState.objects.filter(account=account)
        .values_list("folder_prefix", flat=True)
        .first()
    )
    if not prefix or not delimiter:
        return []
    return [part for part in prefix.split(delimiter) if part]


def _folder(
    account: MailAccount, folder_id: int | None, *, top: str | None = None
) -> Folder | None:
    """Return the account's folder with this id, or 404.

    None for no id; with top (the server's delimiter), the folder the top
    level is under, if any.
    """
    if folder_id is None:
        path = _top(account, top) if top is not None else []
        if not path:
            return None
        return Folder.objects.filter(account=account, path=path).first()
    try:
        return Folder.objects.get(id=folder_id, account=account)
    except (Folder.DoesNotExist, ValueError, TypeError):
        raise Http404("No such folder.") from None


def folder_and_below(folder: Folder) -> list[Folder]:
    """Return the folder and its subfolders, deepest first."""
    top = list(folder.path)
    rows = [
        row
        for row in Folder.objects.filter(account_id=folder.account_id)
        if row.id == folder.id or list(row.path)[: len(top)] == top
    ]
    return sorted(rows, key=lambda row: -len(row.path))


def messages_in(folder: Folder) -> int:
    """Return how many messages the folder and its subfolders hold."""
    ids = [row.id for row in folder_and_below(folder)]
    total = Folder.objects.filter(id__in=ids).aggregate(n=Sum("total"))["n"]
    return int(total or 0)


def _siblings(account: MailAccount, parent_path: list[str], but: int = 0) -> list[str]:
    depth = len(parent_path) + 1
    paths = (
        Folder.objects.filter(account=account)
        .exclude(id=but)
        .values_list("path", flat=True)
    )
    return [
        path[-1]
        for path in paths
        if len(path) == depth and list(path[:-1]) == parent_path
    ]


def _record(
    account: MailAccount, kind: str, folder: Folder, payload: dict[str, Any]
) -> None:
    PendingOperation.objects.create(
        account_id=account.id,
        kind=kind,
        folder_id=folder.id,
        # Decoded, for the page to name it if refused; the worker goes by
        # the payload's server names.
        folder_name=(folder.delimiter or "/").join(folder.path) or folder.name,
        uidvalidity=0,
        uids=[],
        payload=payload,
    )
    user_id, account_id = account.user_id, account.id

    def after_commit() -> None:
        run_after_response(partial(door.push_changes, account_id))
        event = {"type": events.FOLDERS, "account": account_id}
        run_after_response(partial(events.publish, user_id, event))

    transaction.on_commit(after_commit)


def create_folder(
    account: MailAccount, name: str, parent_id: int | None = None
) -> Folder:
    """Create a folder (under the parent folder with that id); return it."""
    with transaction.atomic():
        lock_account(account.id)
        delimiter = delimiter_of(account)
        parent = _folder(account, parent_id, top=delimiter)
        delimiter = parent.delimiter if parent else delimiter
        parent_path = list(parent.path) if parent else []
        name = check_name(name, delimiter, _siblings(account, parent_path))
        path = [*parent_path, name]
        folder = Folder.objects.create(
            account=account,
            name=server_name(path, delimiter),
            display_name=name,
            path=path,
            parent=parent,
            delimiter=delimiter,
            subscribed=True,
        )
        _record(account, OperationKind.CREATE_FOLDER, folder, {"name": folder.name})
    return folder


def rename_folder(
    account: MailAccount, folder: Folder, name: str, parent_id: int | None
) -> Folder:
    """Rename a folder, or move it under another (parent_id None: the top).

    Its subfolders and messages go with it.
    """
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    if _is_inbox(folder):
        raise BadFolderName("inbox")
    with transaction.atomic():
        lock_account(account.id)
        folder = Folder.objects.get(id=folder.id)
        delimiter = folder.delimiter or delimiter_of(account)
        parent = _folder(account, parent_id, top=delimiter)
        moving = folder_and_below(folder)
        if parent is not None and parent.id in {row.id for row in moving}:
            raise BadFolderName("into_itself")
        parent_path = list(parent.path) if parent else []
        siblings = _siblings(account, parent_path, but=folder.id)
        name = check_name(name, delimiter, siblings)
        old_top, new_top = list(folder.path), [*parent_path, name]
        if new_top == old_top:
            return folder
        old_name = folder.name
        for row in moving:  # deepest first: no name is taken twice meanwhile
            row.path = new_top + list(row.path)[len(old_top) :]
            row.name = server_name(row.path, delimiter)
            row.display_name = row.path[-1]
            if row.id == folder.id:
                row.parent = parent
            row.save(update_fields=["path", "name", "display_name", "parent"])
        folder = next(row for row in moving if row.id == folder.id)
        payload = {"old": old_name, "new": folder.name}
        _record(account, OperationKind.RENAME_FOLDER, folder, payload)
    return folder


def delete_folder(account: MailAccount, folder: Folder) -> int:
    """Delete a folder, its subfolders and their messages; return how many."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    if _is_inbox(folder):
        raise BadFolderName("inbox")
    with transaction.atomic():
        lock_account(account.id)
        rows = folder_and_below(folder)
        count = messages_in(folder)
        payload = {"names": [row.name for row in rows]}
        _record(account, OperationKind.DELETE_FOLDER, folder, payload)
        Folder.objects.filter(id__in=[row.id for row in rows]).delete()
    return count


def set_subscribed(account: MailAccount, folder: Folder, subscribed: bool) -> None:
    """Subscribe to a folder, or unsubscribe from it."""
    if folder.account_id != account.id:
        raise Http404("No such folder.")
    with transaction.atomic():
        lock_account(account.id)
        changed = Folder.objects.filter(id=folder.id).exclude(subscribed=subscribed)
        if not changed.update(subscribed=subscribed):
            return
        payload = {"name": folder.name, "subscribed": subscribed}
        _record(account, OperationKind.SUBSCRIBE, folder, payload)


def all_folders(account: MailAccount) -> list[Folder]:
    """Return every folder of the account, subscribed or not."""
    return list(Folder.objects.filter(account=account).order_by())


def account_folder(account: MailAccount, folder_id: int) -> Folder:
    """Return the account's folder with this id, or 404."""
    folder = _folder(account, folder_id)
    assert folder is not None
    return folder


# The special folders a mailbox should have, by special use, with the name
# each gets when made.
SPECIAL_FOLDERS = (
    ("\\Drafts", "Drafts"),
    ("\\Sent", "Sent"),
    ("\\Trash", "Trash"),
    ("\\Junk", "Junk"),
    ("\\Archive", "Archive"),
)


def missing_special_folders(account: MailAccount) -> list[str]:
    """Return the names of the special folders the account lacks."""
    have = {
        use.lower()
        for use in Folder.objects.filter(account=account).values_list(
            "special_use", flat=True
        )
    }
    return [name for use, name in SPECIAL_FOLDERS if use.lower() not in have]


def special_choices(account: MailAccount) -> list[tuple[str, str, int | None]]:
    """Return (use, name, id of the folder that has it) for each special use."""
    have = dict(
        Folder.objects.filter(account=account)
        .exclude(special_use="")
        .values_list("special_use", "id")
    )
    lower = {use.lower(): folder_id for use, folder_id in have.items()}
    return [(use, name, lower.get(use.lower())) for use, name in SPECIAL_FOLDERS]


def choose_special_folders(account: MailAccount, chosen: dict[str, int | None]) -> None:
    """Give special uses to folders the user picked ({"\\Trash": id, ...}).

    For servers that mark none (Courier) or mark others than the user
    uses. The choice lives in the cache only (Folder.chosen_use) and wins
    over the server's flags at every folder sync. None gives the use back
    to the server's flag or the name, at the next folder sync.
    """
    uses = {use for use, _ in SPECIAL_FOLDERS}
    with transaction.atomic():
        lock_account(account.id)
        rows = Folder.objects.filter(account=account)
        for use, folder_id in chosen.items():
            if use not in uses:
                continue
            rows.filter(chosen_use__iexact=use).update(chosen_use="")
            if folder_id is None:
                continue
            folder = rows.filter(id=folder_id, selectable=True).first()
            if folder is None:
                raise Http404("No such folder.")
            rows.filter(special_use__iexact=use).update(special_use="")
            rows.filter(id=folder.id).update(chosen_use=use, special_use=use)
    event = {"type": events.FOLDERS, "account": account.id}
    run_after_response(partial(events.publish, account.user_id, event))


def trash_or_new(account: MailAccount) -> Folder | None:
    """Return the account's Trash, making one where the mailbox has none.

    Courier (and any server without SPECIAL-USE whose bin has another
    name) would otherwise leave nowhere to move deleted mail to. None when
    it cannot be made (a folder of that name has another use).
    """
    existing = Folder.objects.filter(
        account=account, special_use__iexact="\\Trash"
    ).first()
    if existing is not None:
        return existing
    try:
        folder = create_folder(account, "Trash")
    except BadFolderName:
        return None
    Folder.objects.filter(id=folder.id).update(special_use="\\Trash")
    folder.special_use = "\\Trash"
    return folder


def create_special_folders(account: MailAccount) -> list[str]:
    """Create the special folders the account lacks; return their names.

    They are made as plain folders named Drafts, Sent, ...: servers know
    them by these names (webmail.engine.folderlist guess_special_use).
    """
    made = []
    uses = dict((name, use) for use, name in SPECIAL_FOLDERS)
    for name in missing_special_folders(account):
        try:
            folder = create_folder(account, name)
        except BadFolderName:
            continue  # a folder of that name exists, with another use
        Folder.objects.filter(id=folder.id).update(special_use=uses[name])
        made.append(name)
    return made
