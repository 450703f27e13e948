"""Moving and copying messages on the server, each message once, across crashes.

A worker may be killed between the server's answer and the operation's
row being updated; the next worker applies the operation again. So a move
records what it sends, a COPY records its intent (the target's UIDNEXT)
first and, when repeated, copies only the messages it does not find in
the target, and every step works on the messages still in the folder
(another client may have expunged some meanwhile).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from webmail.imap import ImapError, ImapSession, MessageMissing
from webmail.imap.types import UidMap
from webmail.models import OperationState, PendingOperation
from webmail.shared.flags import FLAG_OF

logger = logging.getLogger(__name__)

FLAG_DELETED = FLAG_OF["deleted"]
# A command refused for naming messages another client expunged is sent
# this many times in all, the view of the folder brought up to date first.
RESYNC_TRIES = 3


class UidValidityChanged(ImapError):
    """The folder was rebuilt on the server; old UIDs name other messages."""

    retryable = False


class Cancelled(Exception):
    """The user undid the move before the worker sent anything of it."""


def select_folder(
    session: ImapSession, op: PendingOperation, *, refresh: bool = False
) -> None:
    """Select op's folder; refresh brings the view up to date (see on_present)."""
    opener = session.refresh_folder if refresh else session.open_folder
    info = opener(op.folder_name)
    if info.uidvalidity != op.uidvalidity:
        raise UidValidityChanged(
            f'The folder "{op.folder_name}" was rebuilt on the server, so the '
            "change could not be applied safely."
        )


def present_uids(session: ImapSession, uids: list[int]) -> list[int]:
    """Return those of uids still in the selected folder."""
    if not uids:
        return []
    found = set(session.search_uids("UID", ",".join(str(u) for u in uids)))
    return [u for u in uids if u in found]


def on_present(
    session: ImapSession,
    op: PendingOperation,
    uids: list[int],
    command: Callable[[list[int]], object],
) -> list[int]:
    """Run command on those of uids still in the folder; return them.

    The view of a folder kept selected may be up to a second behind the
    server (ImapSession.open_folder) and still list messages another
    client expunged. A server refuses a UID MOVE or COPY naming one of
    them outright (Dovecot: NO [EXPUNGEISSUED]) and does none of it: the
    view is then brought up to date and the command sent again for what
    is left.
    """
    tries = 1
    while True:
        present = present_uids(session, uids)
        if not present:
            return []
        try:
            command(present)
        except MessageMissing:
            if tries >= RESYNC_TRIES:
                raise
            tries += 1
            logger.info("Operation %s named messages gone meanwhile; resyncing", op.id)
            select_folder(session, op, refresh=True)
        else:
            return present


def move(session: ImapSession, op: PendingOperation, uids: list[int]) -> set[int]:
    """Move the messages; return those another client removed first."""
    target = op.payload["target"]
    if session.capabilities.has("MOVE"):
        # What an earlier push of this operation sent is gone from the
        # folder if its worker died before recording the server's OK:
        # moved, not removed by another client.
        earlier = {int(u) for u in op.payload.get("sent", [])}

        def move(present: list[int]) -> None:
            _claim(op, sent=present)
            _record_uids(op, session.move(present, target))

        return set(uids) - set(on_present(session, op, uids, move)) - earlier
    # COPY, then \Deleted and UID EXPUNGE. The copies are recorded before
    # the originals go, so a repeat after a crash does not copy them twice;
    # a crash between the COPY and that record is copy_once's to handle.
    copied = op.payload.get("copied")
    if not isinstance(copied, list):
        if copied:  # recorded as True by an earlier version: all of them
            copied = uids
        else:
            copied = copy_once(session, op, uids, target)
            _save(op, copied=copied)
    present = present_uids(session, [int(u) for u in copied])
    if present:
        session.store_flags(present, [FLAG_DELETED])
        if session.capabilities.has("UIDPLUS"):
            session.expunge_uids(present)
    return set(uids) - {int(u) for u in copied}


def copy_once(
    session: ImapSession, op: PendingOperation, uids: list[int], target: str
) -> list[int]:
    """Copy those of uids still in the folder to target; return them.

    The server's COPY and the caller's record of it are two steps: a worker
    killed between them leaves an operation that looks as if nothing was
    copied. So the intent is recorded first ("copying": the UIDs, and the
    target's UIDVALIDITY and UIDNEXT just before), and a push that finds
    one looks in the target for the copies an earlier push made, by
    Message-ID among the messages that arrived there since, and copies only
    the rest.
    """
    intent = op.payload.get("copying")
    if isinstance(intent, dict):
        there = _copies_in_target(session, op, intent, uids, target)
    else:
        there = []
        counts = session.status(target, ("UIDVALIDITY", "UIDNEXT"))
        _claim(
            op,
            copying={
                "uids": uids,
                "uidvalidity": counts.get("UIDVALIDITY"),
                "uidnext": counts.get("UIDNEXT"),
            },
        )
    done = set(there)
    rest = [u for u in uids if u not in done]

    def copy(present: list[int]) -> None:
        _record_uids(op, session.copy(present, target))

    copied = on_present(session, op, rest, copy)
    return sorted(done | set(copied))


def _copies_in_target(
    session: ImapSession,
    op: PendingOperation,
    intent: dict[str, object],
    uids: list[int],
    target: str,
) -> list[int]:
    """Return those of uids whose copy an earlier push already put in target.

    A message is taken as copied when a message with its Message-ID arrived
    in the target after the intent was recorded (two source messages with
    one Message-ID need two such arrivals). A message without a Message-ID
    cannot be told from others there: it is copied again. The user may then
    see it twice, where skipping it would lose it when the original is
    expunged.
    """
    select_folder(session, op, refresh=True)
    intended = set(_ints(intent))
    wanted = present_uids(session, [u for u in uids if u in intended])
    ids = {
        uid: mid
        for uid, mid in session.fetch_message_ids(wanted).items()
        if mid is not None
    }
    if not ids:
        return []
    info = session.select(target, readonly=True)
    uidnext = intent.get("uidnext")
    if info.uidvalidity == intent.get("uidvalidity") and isinstance(uidnext, int):
        arrived = [
            u for u in session.search_uids("UID", f"{uidnext}:*") if u >= uidnext
        ]
    else:  # the target was rebuilt since: any of its messages may be a copy
        arrived = session.search_uids("ALL")
    waiting = Counter(session.fetch_message_ids(arrived).values())
    select_folder(session, op)
    there = []
    for uid in sorted(ids):
        if waiting[ids[uid]] > 0:
            waiting[ids[uid]] -= 1
            there.append(uid)
    if there:
        logger.info(
            "Operation %s: %d messages already copied by an earlier push",
            op.id,
            len(there),
        )
    return there


def _ints(intent: dict[str, object]) -> list[int]:
    values = intent.get("uids")
    return [int(u) for u in values] if isinstance(values, list) else []


def _claim(op: PendingOperation, **values: object) -> None:
    """Record progress before the first command that changes the server.

    A conditional update of the operation's row: an undo that cancelled
    the operation first (webmail.mail.undo, under the row's lock) makes it
    find no pending row, and nothing is sent; one that comes after finds
    this progress and queues a move back instead.
    """
    op.payload.update(values)
    claimed = PendingOperation.objects.filter(
        id=op.id, state=OperationState.PENDING
    ).update(payload=op.payload)
    if not claimed:
        raise Cancelled(f"Operation {op.id} was undone before it was sent.")


def _record_uids(op: PendingOperation, mapping: UidMap) -> None:
    """Record the UIDs the server gave the messages in the target (COPYUID),
    and the target's UIDVALIDITY they belong to."""
    if mapping:
        moved = dict(op.payload.get("moved") or {})
        moved.update({str(old): new for old, new in mapping.items()})
        _save(op, moved=moved, moved_uidvalidity=mapping.uidvalidity)


def _save(op: PendingOperation, **values: object) -> None:
    """Record progress in op's payload before the next step."""
    op.payload.update(values)
    PendingOperation.objects.filter(id=op.id).update(payload=op.payload)
