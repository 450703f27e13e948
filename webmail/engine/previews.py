"""A preview line for every message: the start of its first text part, newest first.

The list shows a line of each message's text (Message.preview). A body
fetched whole (opened, or rendered ahead for the newest new mail) gives
it; for the rest this pass reads only what the line needs: each message's
BODYSTRUCTURE and the first PREVIEW_OCTETS of its first text part, with
BODY.PEEK so that nothing is marked read, decoded with the part's transfer
encoding and charset, HTML reduced to text (mime.preview_of_start). Part 1
comes with the BODYSTRUCTURE, and is the text of most mail; other parts,
and texts whose start holds too little (an HTML head, a long quote), take
one more round trip each.

The pass is the folder's least urgent work. Its first batch follows the
folder's first sync (the newest messages: the page the user looks at);
then it waits for the backfill to load the whole folder, and goes on a
batch a task, newest first. Mail that arrives later is read first. Two
marks on the folder (previews_from_uid, previews_to_uid) say what has been
read, so a restarted worker goes on where the last batch ended (any sync of
the folder queues the next batch) and a message without text is read once.
A preview already there is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, QuerySet

from webmail.engine.claims import OneAtATime
from webmail.engine.connections import with_session
from webmail.imap import ImapSession
from webmail.imap.bodystructure import preview_part
from webmail.imap.types import BodyPart
from webmail.mime.preview import PREVIEW_LENGTH, preview_of_start
from webmail.models import Folder, Message, lock_folder

# Octets of a text part read first, and then where they hold too little
# text: 200 characters of Japanese take about 800 octets in base64 UTF-8.
PREVIEW_OCTETS = 1024
MORE_OCTETS = 16 * 1024

_previewing = OneAtATime()


def batch_size() -> int:
    return int(settings.PREVIEW_BATCH)


@dataclass
class PreviewResult:
    """What a batch of the pass did."""

    folder_id: int
    read: list[int] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    # Whether the pages show these messages first (the newest, new mail).
    newest: bool = False
    more: bool = False


@dataclass(frozen=True)
class _Batch:
    """Messages to read, and the folder's marks before and after them."""

    uidvalidity: int
    uids: list[int]
    marks: tuple[int | None, int | None]
    after: tuple[int | None, int | None]
    newest: bool


def previews_due(folder: Folder) -> bool:
    """Whether the pass can read messages of the folder now."""
    low, high = folder.previews_from_uid, folder.previews_to_uid
    if folder.backfill_below_uid is None or batch_size() <= 0:
        return False  # never synced, or the pass is off
    if high is None or high < (folder.uidnext or 0):
        return True
    return folder.complete and (low is None or low > 1)


def load_previews(account_id: int, folder_id: int) -> PreviewResult | None:
    """Give the next batch of the folder's messages their previews.

    None if there is nothing to do now, or if another thread of this
    process is at it (that one queues the next batch).
    """
    folder = Folder.objects.filter(id=folder_id, account_id=account_id).first()
    if folder is None or not previews_due(folder):
        return None
    with _previewing.claim(folder_id) as claimed:
        if not claimed:
            return None
        batch = _plan(folder_id)
        if batch is None:
            return None
        lines: dict[int, str] = {}
        if batch.uids:
            lines = with_session(
                account_id,
                lambda s: read_previews(s, folder.name, batch.uidvalidity, batch.uids),
                folder=folder.name,
            )
        return _store(folder_id, batch, lines)


def _plan(folder_id: int) -> _Batch | None:
    """Choose the next messages to read.

    Not under the folder's lock: what a sync or backfill changes meanwhile
    is at worst read twice, and _store writes only if the marks are still
    those read here.
    """
    folder = Folder.objects.filter(id=folder_id).first()
    if folder is None or folder.uidvalidity is None or not previews_due(folder):
        return None
    low, high = folder.previews_from_uid, folder.previews_to_uid
    unread = Message.objects.filter(folder=folder, preview="")
    size = batch_size()
    top = _top(folder)
    if high is None:
        # The first batch: the newest messages, the first page's.
        uids = _uids(unread.order_by("-uid"), size)
        below = uids[-1] if len(uids) == size else folder.backfill_below_uid
        after = (below, top)
    elif high < top:
        # Mail that came since, oldest first so that the mark can follow.
        uids = _uids(unread.filter(uid__gte=high).order_by("uid"), size)
        after = (low, uids[-1] + 1 if len(uids) == size else top)
    else:
        # The rest, newest first, once the backfill has loaded it all.
        uids = _uids(unread.filter(uid__lt=low or top).order_by("-uid"), size)
        after = (uids[-1] if len(uids) == size else 1, high)
    return _Batch(
        uidvalidity=folder.uidvalidity,
        uids=uids,
        marks=(low, high),
        after=after,
        newest=high is None or high < top,
    )


def _top(folder: Folder) -> int:
    """One above the highest UID the cache may hold."""
    if folder.uidnext:
        return folder.uidnext
    highest = Message.objects.filter(folder=folder).aggregate(top=Max("uid"))["top"]
    return (highest or 0) + 1


def _uids(rows: QuerySet[Message], size: int) -> list[int]:
    return list(rows.values_list("uid", flat=True)[:size])


def read_previews(
    session: ImapSession, folder_name: str, uidvalidity: int, uids: Sequence[int]
) -> dict[int, str]:
    """Return the preview lines of these messages that have text, by UID.

    Empty if the folder's UIDs changed meanwhile (they name other mail).
    """
    info = session.open_folder(folder_name)
    if info.uidvalidity != uidvalidity:
        return {}
    lines: dict[int, str] = {}
    wanted: dict[int, tuple[BodyPart, int]] = {}
    for uid, (structure, start) in session.fetch_structures(
        uids, PREVIEW_OCTETS
    ).items():
        part = preview_part(structure)
        if part is None:
            continue
        line = _line(part, start, PREVIEW_OCTETS) if part.section == "1" else None
        if line is not None:
            lines[uid] = line
        else:
            octets = MORE_OCTETS if part.section == "1" else PREVIEW_OCTETS
            wanted[uid] = (part, octets)
    while wanted:
        starts = session.fetch_starts(
            {uid: (part.section, octets) for uid, (part, octets) in wanted.items()}
        )
        again: dict[int, tuple[BodyPart, int]] = {}
        for uid, data in starts.items():
            part, octets = wanted[uid]
            line = _line(part, data, octets)
            if line is not None:
                lines[uid] = line
            elif octets < MORE_OCTETS:
                again[uid] = (part, MORE_OCTETS)
        # Still too little in MORE_OCTETS: opening the message gives the line.
        wanted = again
    return {uid: line for uid, line in lines.items() if line}


def _line(part: BodyPart, data: bytes, octets: int) -> str | None:
    """Return a part's preview line from its first octets; None: too few."""
    line = preview_of_start(
        data,
        content_type=part.content_type,
        charset=part.charset,
        encoding=part.encoding,
        whole=len(data) < octets or len(data) >= part.size,
    )
    # As long as the line of a body fetched whole (engine.bodies).
    return None if line is None else line[:PREVIEW_LENGTH]


def _store(folder_id: int, batch: _Batch, lines: Mapping[int, str]) -> PreviewResult:
    """Write the lines where no preview is yet, and move the folder's marks.

    Nothing is written if the folder was reloaded meanwhile (its UIDs name
    other mail now), or if another task moved the marks: it read these.
    """
    result = PreviewResult(folder_id, newest=batch.newest)
    with transaction.atomic():
        found = lock_folder(folder_id)
        if found is None or found[1] != batch.uidvalidity:
            return result
        folder = Folder.objects.get(id=folder_id)
        if (folder.previews_from_uid, folder.previews_to_uid) != batch.marks:
            result.more = previews_due(folder)
            return result
        _write(folder_id, lines)
        folder.previews_from_uid, folder.previews_to_uid = batch.after
        folder.save(update_fields=["previews_from_uid", "previews_to_uid"])
    result.read = batch.uids
    result.written = sorted(lines)
    result.more = previews_due(folder)
    return result


def _write(folder_id: int, lines: Mapping[int, str]) -> None:
    """Set the previews of messages that have none, in one statement."""
    if not lines:
        return
    quote = connection.ops.quote_name
    columns = {f.name: quote(str(f.column)) for f in Message._meta.concrete_fields}
    preview, folder, uid = columns["preview"], columns["folder"], columns["uid"]
    # Names from the model, values as parameters: nothing here comes from mail.
    table = quote(Message._meta.db_table)
    sql = (
        f"UPDATE {table} SET {preview} = %s"  # noqa: S608
        f" WHERE {folder} = %s AND {uid} = %s AND {preview} = ''"
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            sql, [(line, folder_id, uid) for uid, line in sorted(lines.items())]
        )
