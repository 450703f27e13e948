"""Actions on many messages at once: the selection's toolbar.

Each action is applied with the verbs of webmail.mail.changes, a chunk of UIDs at
a time: each chunk is one short transaction, so that "all 100,000 messages
of this folder" does not hold a lock for long, and its operations name at
most 500 UIDs each, so that none sends the worker one giant command. A move
or delete takes up to 5,000 messages in one transaction (the most a search
finds, and an undo keeps): its statements cost the user's wait more than
their rows do.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from accounts.models import MailAccount
from webmail.mail import changes
from webmail.models import Folder, Message, among

CHUNK = 500
TAKE_OUT_CHUNK = 5000
ACTIONS = ("read", "unread", "star", "unstar", "move", "copy", "delete")


def chunks(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(uids), size):
        yield list(uids[start : start + size])


def folder_uids(folder: Folder) -> list[int]:
    """Return the UIDs of every message of the folder in the cache."""
    return list(
        Message.objects.filter(folder=folder)
        .order_by("uid")
        .values_list("uid", flat=True)
    )


def apply(
    account: MailAccount,
    folder: Folder,
    action: str,
    uids: Iterable[int] | None,
    target: Folder | None = None,
) -> int:
    """Apply an action to messages of a folder; uids None means all of them.

    Returns how many messages changed. Raises ValueError for an unknown
    action, a move without a target, or a target that cannot hold mail.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown action: {action!r}")
    if action in ("move", "copy") and target is None:
        raise ValueError(f"Pick a folder to {action} the messages to.")
    wanted = folder_uids(folder) if uids is None else sorted(set(uids))
    size = TAKE_OUT_CHUNK if action in ("move", "delete") else CHUNK
    changed = 0
    for chunk in chunks(wanted, size):
        changed += _one(account, folder, action, chunk, target)
    return changed


def apply_to_ids(
    account: MailAccount,
    ids: Iterable[int],
    action: str,
    target: Folder | None = None,
) -> int:
    """Apply an action to cached messages of any folders, named by Message id.

    Search results mix folders and their UIDs repeat, so they are named by
    id. Ids of messages that are not the account's (or are gone from the
    cache) are left out. Returns how many messages changed.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown action: {action!r}")
    wanted = sorted({int(i) for i in ids})
    by_folder: dict[int, list[int]] = {}
    # Every result of a search (5,000 at most) in one query.
    for chunk in chunks(wanted, TAKE_OUT_CHUNK):
        rows = Message.objects.filter(
            among("webmail_message.id", chunk), folder__account=account
        )
        for folder_id, uid in rows.values_list("folder_id", "uid"):
            by_folder.setdefault(folder_id, []).append(uid)
    changed = 0
    for folder in Folder.objects.filter(id__in=by_folder, account=account):
        changed += apply(account, folder, action, by_folder[folder.id], target)
    return changed


def _one(
    account: MailAccount,
    folder: Folder,
    action: str,
    uids: list[int],
    target: Folder | None,
) -> int:
    if action in ("read", "unread"):
        return changes.mark_seen(account, folder, uids, seen=action == "read")
    if action == "star":
        return changes.set_flags(account, folder, uids, add=["\\Flagged"])
    if action == "unstar":
        return changes.set_flags(account, folder, uids, remove=["\\Flagged"])
    if action == "move" and target is not None:
        return changes.move_messages(account, folder, uids, target)
    if action == "copy" and target is not None:
        return changes.copy_messages(account, folder, uids, target)
    return changes.delete_messages(account, folder, uids)


def folder_count(folder: Folder) -> int:
    """Return how many messages of the folder are in the cache."""
    return Message.objects.filter(folder=folder).count()
