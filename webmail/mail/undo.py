"""Undoing a move, an archive, a spam report or a delete to Trash (docs/undo.md).

undoable() records the moves a view makes as one UndoableAction, with the
rows they took out of the cache (webmail.mail.snapshots); the user's pages
are told, so that every tab offers Undo for UNDO_SECONDS. undo() puts the
rows back at once and settles the server's side in the same transaction,
exactly once (the action goes from open to undone under its row's lock):

- a move the worker has not started on is cancelled: its operation, locked
  (select_for_update), goes from pending to cancelled, and the worker's
  claim before it sends anything (webmail.engine.moves) is a conditional
  update of that same row, so one of the two wins and the other sees it;
- a move the worker has started ("sent" before a UID MOVE, "copying" or
  "copied" on a server without MOVE) or done is reversed: a move back is
  queued behind it in the outbox, which finds the messages in the target
  by the UIDs the server gave them (COPYUID) or, without those, by
  Message-ID (webmail.engine.undo);
- a move the server refused (failed) left the messages where they were.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone

from accounts.models import MailAccount
from webmail import door
from webmail.after_response import run_after_response
from webmail.mail import snapshots
from webmail.models import (
    Message,
    OperationKind,
    OperationState,
    PendingOperation,
    UndoableAction,
    lock_folder,
    move_counts,
)
from webmail.shared import events
from webmail.shared.changes import operation

# Seconds beyond UNDO_SECONDS that an undo is still taken: the click may be
# on its way, and another tab heard of the action a little later.
GRACE = 5
# Seconds an undo waits for its action's kept rows to be written (undoable).
KEEP_WAIT = 3
# Rows an action keeps before its answer; more are written after it.
KEEP_AT_ONCE = 100
# Progress the worker records before it sends a move (webmail.engine.moves).
STARTED = ("sent", "copying", "copied")


class TooLate(Exception):
    """The action was undone already, or its time is up."""

    def __init__(self, already: bool) -> None:
        super().__init__("undone already" if already else "too late")
        self.already = already


@dataclass
class Offer:
    """What undoable() recorded: the action's id (None: nothing to undo)."""

    id: int | None = None
    count: int = 0


@dataclass
class Undone:
    """What an undo put back: how many messages, and in which folders."""

    count: int = 0
    folders: set[int] = field(default_factory=set)


@contextmanager
def undoable(
    account: MailAccount, verb: str, *, together: bool = True
) -> Iterator[Offer]:
    """Record the moves made in this block as one action the user can undo.

    verb is "move" or "delete", for the notice. Deletes for good record
    nothing (there is no undoing them), nor does an action on more than
    snapshots.LIMIT messages: the offer's id stays None. together: the
    block's changes and the action are one transaction (one commit); a whole
    folder's messages go in many short ones, each its own.

    The action is recorded at once, for the answer's Undo. The kept rows
    of a large action (5 MB of JSON for 5,000 messages) are written once
    the answer has gone out, and only then do the user's other tabs hear of
    it; until then its count is 0, and an undo waits for them (undo()).
    A few rows cost less than that second write: they go in at once.
    """
    offer = Offer()
    with transaction.atomic() if together else nullcontext():
        with snapshots.taking() as recorder:
            yield offer
        _record(account, verb, offer, recorder)


def _record(
    account: MailAccount, verb: str, offer: Offer, recorder: snapshots.Recorder
) -> None:
    taken = [t for t in recorder.taken if t.rows]
    if not taken or recorder.overflow:
        return
    offer.count = sum(len(t.rows) for t in taken)
    at_once = offer.count <= KEEP_AT_ONCE
    action = UndoableAction.objects.create(
        account=account,
        verb=verb,
        # 0 until the rows are kept: an undo waits for them (undo()).
        count=offer.count if at_once else 0,
        target_id=taken[0].target,
        moves=[t.as_json() for t in taken] if at_once else [],
    )
    offer.id = action.id
    if at_once:
        later = partial(_tell_undoable, account, action.id)
    else:
        later = partial(_keep, account, action.id, offer.count, taken)
    transaction.on_commit(lambda: run_after_response(later))


def _keep(
    account: MailAccount, action_id: int, count: int, taken: list[snapshots.Taken]
) -> None:
    """Write an action's kept rows, then tell the user's pages it can be undone."""
    UndoableAction.objects.filter(id=action_id).update(
        count=count,
        # Not asdict(): it deep-copies every kept row (a second for 5,000).
        moves=[t.as_json() for t in taken],
    )
    _tell_undoable(account, action_id)


def _tell_undoable(account: MailAccount, action_id: int) -> None:
    event = {"type": events.UNDOABLE, "account": account.id, "id": action_id}
    events.publish(account.user_id, event)


def get_action(account: MailAccount, action_id: int) -> UndoableAction:
    """Return the account's action, without its kept rows; another's is a 404."""
    action = (
        UndoableAction.objects.filter(id=action_id, account=account)
        .defer("moves")
        .first()
    )
    if action is None:
        raise Http404("No such action.")
    return action


class _NotKeptYet(Exception):
    """The action's rows are still being written (undoable)."""


def open_until(action: UndoableAction) -> float:
    """Return the seconds left to offer Undo for (0 when the time is up)."""
    if action.undone:
        return 0.0
    end = action.created_at + timedelta(seconds=int(settings.UNDO_SECONDS))
    return max(0.0, (end - timezone.now()).total_seconds())


def undo(account: MailAccount, action_id: int) -> Undone:
    """Undo the action: its messages back in their folders, now and on the server.

    Raises TooLate when it was undone already or its time is up, Http404
    for an id that is not the account's. An undo clicked the moment a large
    action's answer came may come before its kept rows (undoable): it waits
    for them, KEEP_WAIT seconds at most.
    """
    deadline = time.monotonic() + KEEP_WAIT
    while True:
        try:
            return _undo(account, action_id)
        except _NotKeptYet:
            if time.monotonic() > deadline:
                raise TooLate(already=False) from None
            time.sleep(0.01)


def _undo(account: MailAccount, action_id: int) -> Undone:
    since = timezone.now() - timedelta(seconds=int(settings.UNDO_SECONDS) + GRACE)
    result = Undone()
    reverse = False
    with transaction.atomic():
        moves = _claim(account.id, action_id, since)
        if moves is None:
            action = get_action(account, action_id)
            if not action.undone and not action.count and action.created_at >= since:
                raise _NotKeptYet
            raise TooLate(already=action.undone)
        op_ids = [int(m["op"]) for m in moves]
        ops = {
            op.id: op
            for op in PendingOperation.objects.select_for_update()
            .filter(id__in=op_ids, account=account)
            .order_by("id")
        }
        for move in moves:
            op = ops.get(int(move["op"]))
            if op is not None:
                reverse |= _undo_move(account, op, move, result)
        _tell(account, action_id, result, reverse)
    return result


def _claim(
    account_id: int, action_id: int, since: datetime
) -> list[dict[str, Any]] | None:
    """Mark the action undone if it is open and recent; return its moves.

    None when there is no such action, or it was undone already, or made
    before since, or its rows are not kept (yet: undoable). One statement,
    written out for its RETURNING (as lock_folder): it is also the row's
    lock, on SQLite too, and an undo is what the user waits on.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webmail_undoableaction SET undone = %s WHERE id = %s"
            " AND account_id = %s AND undone = %s AND created_at >= %s"
            " AND count > 0"
            " RETURNING moves",
            [
                True,
                action_id,
                account_id,
                False,
                connection.ops.adapt_datetimefield_value(since),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    moves = json.loads(row[0]) if isinstance(row[0], str | bytes) else row[0]
    return list(moves)


def _undo_move(
    account: MailAccount, op: PendingOperation, move: dict[str, Any], result: Undone
) -> bool:
    """Undo one operation of the action; return whether a move back was queued."""
    if op.state in (OperationState.FAILED, OperationState.CANCELLED):
        return False  # the messages never left
    source, target = int(move["source"]), int(move["target"])
    # Folder rows are locked in id order, as everywhere (see _take_out).
    currents = {fid: lock_folder(fid) for fid in sorted({source, target})}
    if currents[source] is None:
        return False  # the folder is gone: there is nowhere to put them back
    missing = {int(u) for u in op.payload.get("missing", [])}
    rows = [r for r in snapshots.rows_of(move) if int(r["uid"]) not in missing]
    started = any(key in op.payload for key in STARTED)
    queued = False
    if op.state == OperationState.PENDING and not started:
        PendingOperation.objects.filter(id=op.id, state=OperationState.PENDING).update(
            state=OperationState.CANCELLED, last_error=""
        )
    elif currents[target] is not None:
        _queue_back(account, op, source, target, rows, currents)
        queued = True
    _put_back(source, target, rows, op, result)
    return queued


def _queue_back(
    account: MailAccount,
    op: PendingOperation,
    source: int,
    target: int,
    rows: list[dict[str, Any]],
    currents: dict[int, tuple[str, int | None] | None],
) -> None:
    """Queue the move back, behind op in the account's outbox."""
    source_name = currents[source][0]  # type: ignore[index]
    payload: dict[str, Any] = {
        "target": source_name,
        "target_id": source,
        "undo_of": op.id,
        "message_ids": {
            str(r["uid"]): r["message_id"] for r in rows if r.get("message_id")
        },
    }
    # Done already: the server said where each message went, so the move
    # back names them now, and the target's sync meanwhile leaves them out.
    moved = op.payload.get("moved") or {}
    uids: list[int] = []
    done = (OperationState.DONE, OperationState.PARTIAL)
    if op.state in done and all(str(r["uid"]) in moved for r in rows):
        resolved = {str(r["uid"]): int(moved[str(r["uid"])]) for r in rows}
        payload["resolved"] = resolved
        uids = sorted(resolved.values())
    # The UIDs belong to the UIDVALIDITY the server gave with them; the
    # cache may not know the target's yet (the worker checks it then).
    name, validity = currents[target]  # type: ignore[misc]
    validity = op.payload.get("moved_uidvalidity") or validity
    operation(account.id, OperationKind.MOVE, target, uids, payload, (name, validity))


def _put_back(
    source: int,
    target: int,
    rows: list[dict[str, Any]],
    op: PendingOperation,
    result: Undone,
) -> None:
    """Put the kept rows back in the source's cache, out of the target's."""
    built = snapshots.rebuild(source, rows)
    Message.objects.bulk_create(built, ignore_conflicts=True)
    unseen = sum(1 for r in rows if not r.get("seen"))
    move_counts(target, source, len(rows), unseen)
    # Copies the target's sync brought in already, if the server said their
    # UIDs; the rest leave the target's cache when the move back is synced.
    arrived = [int(v) for v in (op.payload.get("moved") or {}).values()]
    if arrived:
        Message.objects.filter(folder_id=target, uid__in=arrived).delete()
    result.count += len(rows)
    result.folders |= {source, target}


def _tell(account: MailAccount, action_id: int, result: Undone, push: bool) -> None:
    """After the commit: the worker, then every tab of the user, hear of it."""
    event = {
        "type": events.UNDONE,
        "account": account.id,
        "id": action_id,
        "folders": sorted(result.folders),
    }

    def after_commit() -> None:
        if push:
            run_after_response(partial(door.push_changes, account.id))
        run_after_response(partial(events.publish, account.user_id, event))

    transaction.on_commit(after_commit)
