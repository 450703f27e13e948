"""What the reading pane does to one message beyond flags: archive, spam,
delete for good, and which message opens next.

Every change goes through the verbs of webmail.mail.changes (the cache and
the outbox in one transaction); this module only picks the target folder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from accounts import preferences
from accounts.models import MailAccount
from webmail.mail import bulk, changes
from webmail.mail.reading import special_folder
from webmail.models import Folder, Message
from webmail.shared.retention import year_folder

# Folders whose messages a delete removes for good: there is nowhere further
# for them to go.
BINS = ("\\trash", "\\junk")


def is_bin(folder: Folder) -> bool:
    """Return whether deleting in this folder destroys mail (Trash, Junk)."""
    return (folder.special_use or "").lower() in BINS


def deletes_for_good(account: MailAccount, folder: Folder) -> bool:
    """Return whether a delete here is for good: in a bin (Trash, Junk).

    Elsewhere a delete moves to Trash, made first where the mailbox has
    none (changes.delete_messages).
    """
    return is_bin(folder)


def archive_folder(account: MailAccount) -> Folder | None:
    return special_folder(account, "\\Archive")


def junk_folder(account: MailAccount) -> Folder | None:
    return special_folder(account, "\\Junk")


def inbox_folder(account: MailAccount) -> Folder | None:
    return Folder.objects.filter(account=account, name__iexact="INBOX").first()


def _to(
    account: MailAccount, folder: Folder, uids: Iterable[int], target: Folder | None
) -> int:
    if target is None or target.id == folder.id:
        return 0
    return changes.move_messages(account, folder, uids, target)


def archive_messages(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Move messages to the Archive folder; return how many (0 without one).

    With the user's "archive by year" setting, each goes to Archive's folder
    for the year of its date (made when missing), as retention rules do.
    """
    archive = archive_folder(account)
    if archive is None or not preferences.archive_by_year(account.user):
        return _to(account, folder, uids, archive)
    by_year: dict[int, list[int]] = defaultdict(list)
    rows = Message.objects.filter(folder=folder, uid__in=list(uids))
    for uid, date, received in rows.values_list("uid", "date", "internaldate"):
        when = date or received
        by_year[when.year if when else timezone.now().year].append(uid)
    return sum(
        _to(account, folder, year_uids, year_folder(archive, year))
        for year, year_uids in sorted(by_year.items())
    )


def report_spam(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Move messages to the Junk folder; return how many (0 without one)."""
    return _to(account, folder, uids, junk_folder(account))


def not_spam(account: MailAccount, folder: Folder, uids: Iterable[int]) -> int:
    """Move messages out of Junk back to the inbox; return how many."""
    return _to(account, folder, uids, inbox_folder(account))


def next_message(folder: Folder, message: Message) -> Message | None:
    """Return the message to open after this one leaves the folder.

    The next older message of the list (newest first), else the next newer.
    """
    rows = Message.objects.filter(folder_id=folder.id).exclude(uid=message.uid)
    if message.date is None:
        return rows.order_by("-date", "-uid").first()
    older = Q(date__lt=message.date) | Q(date=message.date, uid__lt=message.uid)
    found = rows.filter(older).order_by("-date", "-uid").first()
    if found is None:
        found = rows.exclude(older).order_by("date", "uid").first()
    return found


def empty_folder(account: MailAccount, folder: Folder) -> int:
    """Delete every cached message of Trash or Junk for good; return how many.

    A chunk of UIDs at a time, each one short transaction and one operation
    in the outbox (as the selection's "all" does).
    """
    if not is_bin(folder):
        raise ValueError("Only Trash and Junk can be emptied.")
    emptied = 0
    for chunk in bulk.chunks(bulk.folder_uids(folder), bulk.CHUNK):
        emptied += changes.delete_forever(account, folder, chunk)
    return emptied
