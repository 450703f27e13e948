"""Loading a large folder's older messages, a batch at a time, after its first page.

A folder's first sync loads its newest messages, so that the first page
shows at once; the rest is backfilled by later tasks, newest first, each
batch fetched in pieces (the server reads the next piece while the last
one is parsed and stored).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from django.db import transaction

from webmail.engine.claims import OneAtATime
from webmail.engine.connections import with_session
from webmail.engine.rows import insert_summaries
from webmail.engine.statistics import analyze_if_stale
from webmail.engine.sync import SyncResult, batch_size, sync_folder_on
from webmail.imap import ImapSession
from webmail.imap.types import MessageSummary
from webmail.models import Folder, lock_folder

# A backfill batch is fetched in this many pieces: the server reads the next
# piece while the last one is parsed and stored.
BACKFILL_PIECES = 4

# Folders a backfill is loading in this process. Every sync of a partly
# loaded folder queues a backfill (push.sync_and_publish), so each page view
# during a long load would start a second chain that fetches the same
# messages, only to learn at its first write that the first chain has them.
_backfilling = OneAtATime()


def backfill_folder(account_id: int, folder_id: int) -> SyncResult | None:
    """Load the next batch of older messages of a partly loaded folder.

    None if there is nothing to load, or if another backfill of the folder
    is running in this process: that one queues the next batch itself.
    """
    folder = Folder.objects.filter(id=folder_id, account_id=account_id).first()
    if folder is None or folder.backfill_below_uid is None or folder.complete:
        return None
    with _backfilling.claim(folder_id) as claimed:
        if not claimed:
            return None
        result = with_session(
            account_id, lambda s: backfill_folder_on(s, folder_id), folder=folder.name
        )
    # After the batch, not during it: the IMAP connection is free meanwhile.
    analyze_if_stale()
    return result


def backfill_folder_on(session: ImapSession, folder_id: int) -> SyncResult | None:
    """Backfill over an open session (see backfill_folder).

    The batch is fetched in pieces, newest first, each piece stored in its
    own transaction as soon as it is in while the server reads the next.
    """
    folder = Folder.objects.filter(id=folder_id).first()
    if folder is None or folder.backfill_below_uid is None or folder.complete:
        return None
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        return sync_folder_on(session, folder_id)
    below = folder.backfill_below_uid
    # ESEARCH answers with ranges ("1:99500"), not 100,000 numbers.
    older = [u for u in session.esearch("UID", f"1:{below - 1}").uids if u < below]
    chunk = older[-batch_size() :]
    size = max(1, -(-len(chunk) // BACKFILL_PIECES))
    pieces = [chunk[max(0, end - size) : end] for end in range(len(chunk), 0, -size)]
    # Below the last piece: the oldest message, or more left for the next task.
    floor = chunk[0] if len(older) > len(chunk) else 1
    result = SyncResult(folder.id)
    with contextlib.closing(session.summary_batches(pieces)) as fetched:
        for piece, summaries in zip(pieces, fetched, strict=True):
            mark = piece[0] if piece[0] != chunk[0] else floor
            new = _store_older(folder.id, below, mark, summaries)
            if new is None:
                return _gave_way(result)
            result.new += new
            below = mark
    if not pieces and _store_older(folder.id, below, floor, []) is None:
        return _gave_way(result)
    result.new.sort()
    result.more = floor > 1
    return result


def _gave_way(result: SyncResult) -> SyncResult:
    """Stop a backfill whose mark moved under it (the folder was reloaded).

    The next task goes on from the new mark, if anything is left: a backfill
    queued meanwhile gave way to this one (_backfilling).
    """
    folder = Folder.objects.filter(id=result.folder_id).first()
    result.new.sort()
    result.more = folder is not None and not folder.complete
    return result


def _store_older(
    folder_id: int, below: int, mark: int, summaries: Sequence[MessageSummary]
) -> list[int] | None:
    """Cache older messages and move the folder's backfill mark down to mark.

    None (nothing stored) if the mark is no longer below: another task
    loaded these messages already.
    """
    with transaction.atomic():
        lock_folder(folder_id)
        folder = Folder.objects.get(id=folder_id)
        if folder.backfill_below_uid != below:
            return None
        new = insert_summaries(folder, summaries, {}, set())
        folder.backfill_below_uid = mark
        folder.save(update_fields=["backfill_below_uid"])
    return new
