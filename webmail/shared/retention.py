"""Retention rules: which messages a rule takes, and taking them.

Both sides agree here: the page previews a rule with figures() before it
is saved (webmail.mail.retention), and the worker applies it on beat's
schedule (webmail.engine.retention) with apply_rule(), which counts and
selects the same messages. Taking them out is webmail.shared.changes'
take_out, the recording behind the user's own moves and deletions: the
cache changes at once and the outbox carries each batch to the server.

A message's age is its Date (the list's date), or when it has none the
time the server received it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from webmail.models import (
    Folder,
    Message,
    OperationKind,
    PendingOperation,
    RetentionAction,
    RetentionOutcome,
    RetentionRule,
    lock_account,
)
from webmail.shared.changes import take_out
from webmail.shared.foldernames import server_name

# Messages per transaction and outbox operation, as the bulk actions.
BATCH = 500
# Special uses where deleting is for good (elsewhere it moves to Trash).
FINAL_USES = ("\\trash", "\\junk")


class RuleProblem(Exception):
    """A rule cannot be applied as it stands; code says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Figures:
    """What a rule takes: how many messages and how many bytes."""

    messages: int
    bytes: int


@dataclass(frozen=True)
class Outcome:
    """What one application of a rule did."""

    messages: int
    bytes: int
    outcome: str
    detail: str = ""


def cutoff(days: int, now: dt.datetime | None = None) -> dt.datetime:
    """Return the moment before which a message is older than days."""
    return (now or timezone.now()) - dt.timedelta(days=days)


def older_than(folder_id: int, before: dt.datetime) -> list[QuerySet[Message]]:
    """Return the folder's cached messages dated before the moment.

    Two parts, each an index range (message_age): the dated messages, and
    the few without a Date by their arrival. One query with an OR of both
    would read the whole folder.
    """
    folder = Message.objects.filter(folder_id=folder_id)
    return [
        folder.filter(date__lt=before),
        folder.filter(date__isnull=True, internaldate__lt=before),
    ]


def figures(folder_id: int, days: int, now: dt.datetime | None = None) -> Figures:
    """Return how many messages, of what total size, a rule would take now."""
    messages = size = 0
    for part in older_than(folder_id, cutoff(days, now)):
        found = part.aggregate(n=Count("*"), size=Sum("size"))
        messages += int(found["n"] or 0)
        size += int(found["size"] or 0)
    return Figures(messages, size)


def _next_batch(folder_id: int, before: dt.datetime, limit: int) -> list[Message]:
    """Return up to limit messages the rule takes, oldest first."""
    dated, undated = older_than(folder_id, before)
    fields = ("uid", "size", "date", "internaldate")
    batch = list(dated.order_by("date", "uid").only(*fields)[:limit])
    if len(batch) < limit:
        batch += undated.order_by("uid").only(*fields)[: limit - len(batch)]
    return batch


def special(account_id: int, use: str) -> Folder | None:
    """Return the account's folder with this special use ("\\Trash")."""
    return Folder.objects.filter(account_id=account_id, special_use__iexact=use).first()


def deletes_for_good(folder: Folder) -> bool:
    """Whether deleting in this folder is for good (Trash, Junk, no Trash)."""
    if folder.special_use.lower() in FINAL_USES:
        return True
    return special(folder.account_id, "\\Trash") is None


def check_rule(folder: Folder, action: str) -> None:
    """Raise RuleProblem if the rule cannot work on this folder."""
    if not folder.selectable:
        raise RuleProblem("not_selectable")
    if action == RetentionAction.ARCHIVE:
        archive = special(folder.account_id, "\\Archive")
        if archive is None:
            raise RuleProblem("no_archive")
        inside = list(folder.path[: len(archive.path)]) == list(archive.path)
        if archive.id == folder.id or inside:
            raise RuleProblem("archive_itself")


def year_folder(archive: Folder, year: int) -> Folder:
    """Return Archive's folder for a year, created (and queued) when missing."""
    path = [*archive.path, str(year)]
    name = server_name(path, archive.delimiter)
    with transaction.atomic():
        lock_account(archive.account_id)
        found = Folder.objects.filter(account_id=archive.account_id, name=name)
        if found.exists():
            return found.get()
        folder = Folder.objects.create(
            account_id=archive.account_id,
            name=name,
            display_name=str(year),
            path=path,
            parent=archive,
            delimiter=archive.delimiter,
            subscribed=True,
        )
        # As webmail.mail.folders records a folder the user creates: the
        # worker creates it before the moves queued after it.
        PendingOperation.objects.create(
            account_id=archive.account_id,
            kind=OperationKind.CREATE_FOLDER,
            folder_id=folder.id,
            folder_name=(archive.delimiter or "/").join(path),
            uidvalidity=0,
            uids=[],
            payload={"name": name},
        )
    return folder


def _target(rule: RetentionRule, folder: Folder) -> Callable[[Message], Folder | None]:
    """Return where a message of the rule goes (None: deleted for good)."""
    if rule.action == RetentionAction.DELETE:
        trash = (
            None if deletes_for_good(folder) else special(folder.account_id, "\\Trash")
        )
        return lambda message: trash
    archive = special(folder.account_id, "\\Archive")
    if archive is None:
        raise RuleProblem("no_archive")
    if not rule.by_year:
        return lambda message: archive
    years: dict[int, Folder] = {}

    def by_year(message: Message) -> Folder:
        when = message.date or message.internaldate or timezone.now()
        year = when.astimezone(dt.UTC).year
        if year not in years:
            years[year] = year_folder(archive, year)
        return years[year]

    return by_year


def apply_rule(
    rule: RetentionRule,
    limit: int,
    on_batch: Callable[[Folder, list[int], int], None],
    now: dt.datetime | None = None,
) -> Outcome:
    """Take out up to limit messages the rule covers, BATCH at a time, oldest first.

    Each batch is one transaction and one outbox operation per target;
    on_batch(folder, uids, bytes) hears of each after it is recorded. Returns
    what was taken, and MORE when the limit left messages for next time.
    """
    folder = rule.folder_id and Folder.objects.filter(id=rule.folder_id).first()
    if not folder:
        return Outcome(0, 0, RetentionOutcome.FOLDER_GONE)
    try:
        check_rule(folder, rule.action)
        where = _target(rule, folder)
    except RuleProblem as exc:
        return Outcome(0, 0, RetentionOutcome.FAILED, exc.code)
    before = cutoff(rule.days, now)
    taken = size = 0
    while taken < limit:
        batch = _next_batch(folder.id, before, min(BATCH, limit - taken))
        if not batch:
            return Outcome(taken, size, RetentionOutcome.DONE)
        groups: dict[int | None, tuple[Folder | None, list[Message]]] = {}
        for message in batch:
            target = where(message)
            key = target.id if target else None
            groups.setdefault(key, (target, []))[1].append(message)
        for target, messages in groups.values():
            kind, payload = OperationKind.EXPUNGE, {}
            if target is not None:
                kind = OperationKind.MOVE
                payload = {"target": target.name, "target_id": target.id}
            sizes = {m.uid: m.size for m in messages}
            moved = take_out(rule.account_id, folder, sizes, kind, payload, target)
            moved_size = sum(sizes[uid] for uid in moved)
            taken, size = taken + len(moved), size + moved_size
            if moved:
                on_batch(folder, moved, moved_size)
    more = any(part.exists() for part in older_than(folder.id, before))
    outcome = RetentionOutcome.MORE if more else RetentionOutcome.DONE
    return Outcome(taken, size, outcome)
