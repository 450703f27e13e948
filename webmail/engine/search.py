"""Searching mail on the server, in the worker, in one folder or all of them.

The worker sends UID SEARCH to each folder, caches the messages found
that the sync has not loaded yet (so they can be listed), and answers with
the hits newest first.

Text goes with CHARSET UTF-8. A server that refuses it gets the search
again without a charset when the text is ASCII. Other text the server
cannot search, or finds nowhere (Cyrus finds none in ISO-2022-JP mail),
the worker looks for itself (webmail.engine.scan), and the answer says
the result may be incomplete.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webmail.engine import scan, sync
from webmail.engine.connections import AccountUnusable, with_session
from webmail.engine.rows import insert_summaries, pending_flag_changes, pending_moves
from webmail.imap import (
    AuthenticationFailed,
    CharsetRefused,
    ConnectionLost,
    FolderMissing,
    ImapSession,
    PoolExhausted,
    SearchText,
    ServerUnreachable,
    Timeout,
    TlsError,
)
from webmail.models import Folder, Message, lock_folder
from webmail.shared.cursors import microseconds
from webmail.shared.searching import (
    FIELDS,
    NOTE_CACHE_ONLY,
    NOTE_INCOMPLETE,
    SearchQuery,
    words,
)

logger = logging.getLogger(__name__)

# The newest hits kept of one search; narrower searches find the rest.
MAX_HITS = 5000

# Messages found but not cached yet that one search loads, newest first.
MAX_FETCH = 1000

CHARSET = "UTF-8"

_MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)

_CHUNK = 500

UNREACHABLE = (
    ServerUnreachable,
    Timeout,
    ConnectionLost,
    PoolExhausted,
    AuthenticationFailed,
    TlsError,
    AccountUnusable,
)


def imap_date(day: date) -> str:
    # IMAP dates use English month names whatever the locale.
    return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"


def criteria(query: SearchQuery) -> list[str]:
    """Return the IMAP SEARCH criteria for a query (every word must match)."""
    found: list[str] = []
    key = FIELDS.get(query.field, "TEXT")
    for word in words(query.text):
        found += [key, SearchText(word)]
    if query.since:
        found += ["SINCE", imap_date(query.since)]
    if query.until:
        found += ["BEFORE", imap_date(query.until + timedelta(days=1))]
    if query.unread:
        found.append("UNSEEN")
    if query.flagged:
        found.append("FLAGGED")
    return found or ["ALL"]


def retry_without_charset(items: Sequence[str]) -> bool:
    """Return whether a search refused with CHARSET can be sent without one.

    Without a charset the server reads the text as US-ASCII, so only ASCII
    text can be sent that way; other text would not match what was typed.
    """
    return all(item.isascii() for item in items)


def _folders(account_id: int, query: SearchQuery) -> list[Folder]:
    rows = Folder.objects.filter(account_id=account_id, selectable=True)
    if query.folder_id is not None:
        rows = rows.filter(id=query.folder_id)
    return list(rows.order_by("id"))


def _store(folder_id: int, summaries: Sequence[Any]) -> None:
    """Add fetched summaries to a folder's cache as the sync would.

    A wrapper over the sync's own writer (webmail.engine.rows), so that the
    user's pending actions apply to these rows too and messages being moved
    away are not brought back.
    """
    with transaction.atomic():
        lock_folder(folder_id)
        folder = Folder.objects.get(id=folder_id)
        insert_summaries(
            folder,
            summaries,
            pending_flag_changes(folder),
            pending_moves(folder),
        )


def _cached_uids(folder: Folder, uids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(uids), _CHUNK):
        chunk = uids[start : start + _CHUNK]
        found.update(
            Message.objects.filter(folder=folder, uid__in=chunk).values_list(
                "uid", flat=True
            )
        )
    return found


def _search_folder(
    session: ImapSession, folder: Folder, items: list[str], charset: str | None
) -> list[int]:
    """Search one folder and cache the hits the sync has not loaded yet."""
    if folder.uidvalidity is None:
        # Never synced: its first sync sets it up (and loads the newest).
        sync.sync_folder_on(session, folder.id)
        folder.refresh_from_db()
    info = session.open_folder(folder.name)
    uids = session.search_uids(*items, charset=charset)
    return _cache_hits(session, folder, info.uidvalidity, uids[-MAX_HITS:])


def _cache_hits(
    session: ImapSession, folder: Folder, uidvalidity: int | None, uids: list[int]
) -> list[int]:
    """Cache the hits the sync has not loaded yet; return the hits."""
    if folder.uidvalidity is None or uidvalidity != folder.uidvalidity:
        return uids  # the folder's next sync loads (or reloads) it
    missing = sorted(set(uids) - _cached_uids(folder, uids))[-MAX_FETCH:]
    if missing:
        _store(folder.id, session.fetch_summaries(missing))
    return uids


def _scan_folder(
    session: ImapSession, folder: Folder, query: SearchQuery
) -> list[int] | None:
    """Look for the text in a folder's messages here (webmail.engine.scan).

    Returns the hits, or None when the folder has more messages (that pass
    the query's filters) than SEARCH_SCAN_LIMIT.
    """
    if folder.uidvalidity is None:
        sync.sync_folder_on(session, folder.id)
        folder.refresh_from_db()
    info = session.open_folder(folder.name)
    # The filters (dates, unread, flagged) are ASCII: the server applies them.
    candidates = session.search_uids(*criteria(replace(query, text="")))
    if len(candidates) > settings.SEARCH_SCAN_LIMIT:
        return None
    uids = scan.scan_messages(session, candidates, query)
    return _cache_hits(session, folder, info.uidvalidity, uids[-MAX_HITS:])


def _hits(rows: Any, attachment: bool) -> list[tuple[int, int]]:
    if attachment:
        rows = rows.filter(has_attachments=True)
    hits = []
    for row_id, when in rows.values_list("id", "date"):
        hits.append((microseconds(when), row_id))
    return hits


def run_search(account_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Search the account's server; return {"hits": [[stamp, id], ...], ...}.

    hits are cached Message ids with their date (microseconds), newest
    first. Text other than ASCII that the server refuses to search, finds
    nowhere, or finds in some folders only while it is known to miss
    such text, the worker looks for itself (webmail.engine.scan). "note"
    then says the result may be incomplete: NOTE_INCOMPLETE when the
    server refused or missed what was found so, NOTE_CACHE_ONLY when it
    refused and a folder was too large to read.
    """
    query = SearchQuery.from_json(values)
    folders = _folders(account_id, query)
    items = criteria(query)
    ascii_only = retry_without_charset(items)
    state: dict[str, Any] = {"charset": CHARSET, "refused": False, "missed": False}

    def server_search(session: ImapSession, folder: Folder) -> list[int] | None:
        """The server's hits; None if it refused the charset for this text."""
        if state["refused"]:
            return None
        try:
            return _search_folder(session, folder, items, state["charset"])
        except CharsetRefused as exc:
            if not ascii_only:
                logger.info("Searching here for account %s: %s", account_id, exc)
                state["refused"] = True
                return None
            state["charset"] = None
            return _search_folder(session, folder, items, None)

    def work(session: ImapSession) -> tuple[dict[int, list[int]], list[Folder]]:
        found: dict[int, list[int] | None] = {}
        for folder in folders:
            with contextlib.suppress(FolderMissing):  # deleted since listed
                found[folder.id] = server_search(session, folder)
        too_large: list[Folder] = []
        if ascii_only:
            return {key: uids or [] for key, uids in found.items()}, too_large
        look_here = not any(found.values()) or scan.misses_text(account_id)
        for folder in folders:
            if folder.id not in found:
                continue
            uids = found[folder.id]
            if uids or (uids is not None and not look_here):
                continue
            with contextlib.suppress(FolderMissing):
                scanned = _scan_folder(session, folder, query)
                if scanned is None:
                    too_large.append(folder)
                found[folder.id] = scanned or []
                state["missed"] = state["missed"] or bool(scanned)
        return {key: uids or [] for key, uids in found.items()}, too_large

    found, too_large = with_session(account_id, work)
    hits = cache_search(too_large, query) if too_large else []
    if (hits or state["missed"]) and not state["refused"]:
        # Found where the server found nothing: it misses such text, so
        # later searches look here even where it finds some.
        state["missed"] = True
        scan.note_missed_text(account_id)
    for folder_id, uids in found.items():
        for start in range(0, len(uids), _CHUNK):
            rows = Message.objects.filter(
                folder_id=folder_id, uid__in=uids[start : start + _CHUNK]
            )
            hits += _hits(rows, query.attachment)
    hits.sort(reverse=True)
    note = ""
    if state["refused"] and too_large:
        note = NOTE_CACHE_ONLY
    elif state["refused"] or state["missed"]:
        note = NOTE_INCOMPLETE
    return {"hits": [list(hit) for hit in hits[:MAX_HITS]], "note": note}


def cache_search(
    folders: Sequence[Folder], query: SearchQuery
) -> list[tuple[int, int]]:
    """Search subjects, senders and previews in the cache (when the server cannot)."""
    rows = Message.objects.filter(folder__in=folders)
    for word in words(query.text):
        match = Q(subject__icontains=word)
        if query.field in ("text", "body"):
            match |= Q(preview__icontains=word)
        if query.field in ("text", "from"):
            match |= Q(from_name__icontains=word) | Q(from_address__icontains=word)
        if query.field == "from":
            match = Q(from_name__icontains=word) | Q(from_address__icontains=word)
        rows = rows.filter(match)
    zone = timezone.get_current_timezone()
    if query.since:
        rows = rows.filter(date__gte=datetime.combine(query.since, time(), zone))
    if query.until:
        end = datetime.combine(query.until + timedelta(days=1), time(), zone)
        rows = rows.filter(date__lt=end)
    if query.unread:
        rows = rows.filter(seen=False)
    if query.flagged:
        rows = rows.filter(flagged=True)
    return _hits(rows.order_by("-date", "-id")[:MAX_HITS], query.attachment)
