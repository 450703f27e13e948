"""Searching mail on the server, in the worker, in one folder or all of them.

The worker sends UID SEARCH to each folder, caches the messages found
that the sync has not loaded yet (so they can be listed), and answers with
the hits newest first.

Text goes with CHARSET UTF-8. A server that refuses it gets the search
again without a charset when the text is ASCII; otherwise the cache
(subject and sender) is searched instead, and the answer says so.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webmail.engine import sync
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
from webmail.shared.searching import FIELDS, NOTE_CACHE_ONLY, SearchQuery, words

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
    uids = uids[-MAX_HITS:]
    if folder.uidvalidity is None or info.uidvalidity != folder.uidvalidity:
        return uids  # the folder's next sync loads (or reloads) it
    missing = sorted(set(uids) - _cached_uids(folder, uids))[-MAX_FETCH:]
    if missing:
        _store(folder.id, session.fetch_summaries(missing))
    return uids


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
    first. "note" is NOTE_CACHE_ONLY when the server could not search the
    text and the cache was searched instead.
    """
    query = SearchQuery.from_json(values)
    folders = _folders(account_id, query)
    items = criteria(query)
    state: dict[str, Any] = {"charset": CHARSET, "note": ""}

    def work(session: ImapSession) -> dict[int, list[int]]:
        found: dict[int, list[int]] = {}
        for folder in folders:
            try:
                try:
                    found[folder.id] = _search_folder(
                        session, folder, items, state["charset"]
                    )
                except CharsetRefused:
                    if not retry_without_charset(items):
                        raise
                    state["charset"] = None
                    found[folder.id] = _search_folder(session, folder, items, None)
            except FolderMissing:
                continue  # deleted on the server since the last folder sync
        return found

    try:
        found = with_session(account_id, work)
    except CharsetRefused as exc:
        logger.info("Searching in the cache for account %s: %s", account_id, exc)
        hits = cache_search(folders, query)
        state["note"] = NOTE_CACHE_ONLY
    else:
        hits = []
        for folder_id, uids in found.items():
            for start in range(0, len(uids), _CHUNK):
                rows = Message.objects.filter(
                    folder_id=folder_id, uid__in=uids[start : start + _CHUNK]
                )
                hits += _hits(rows, query.attachment)
    hits.sort(reverse=True)
    return {"hits": [list(hit) for hit in hits[:MAX_HITS]], "note": state["note"]}


def cache_search(
    folders: Sequence[Folder], query: SearchQuery
) -> list[tuple[int, int]]:
    """Search subjects and senders in the cache (when the server cannot)."""
    rows = Message.objects.filter(folder__in=folders)
    for word in words(query.text):
        match = Q(subject__icontains=word)
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
