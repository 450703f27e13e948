"""Searching mail on the server, with filters, in one folder or all of them.

The web process parses a SearchQuery from the page's GET parameters and
asks the account's worker (tasks.search) to run it; the worker sends UID
SEARCH to each folder, caches the messages found that the sync has not
loaded yet (so they can be listed), and answers with the hits newest first.
The answer is kept in the Django cache for a few minutes so that the next
pages of the results do not search again; page 1 always searches afresh.

Text goes with CHARSET UTF-8. A server that refuses it gets the search
again without a charset when the text is ASCII; otherwise the cache (subject
and sender) is searched instead, and the page says so.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import MailAccount
from webmail import sync
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
from webmail.mailbox import microseconds
from webmail.models import Folder, Message, lock_folder
from webmail.workers import AccountUnusable, with_session

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
# The newest hits kept of one search; narrower searches find the rest.
MAX_HITS = 5000
# Messages found but not cached yet that one search loads, newest first.
MAX_FETCH = 1000
CHARSET = "UTF-8"
RESULTS_SECONDS = 300
FIELDS = {
    "text": "TEXT",
    "from": "FROM",
    "to": "TO",
    "subject": "SUBJECT",
    "body": "BODY",
}
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
_WORD = re.compile(r'"([^"]+)"|(\S+)')
_CHUNK = 500

# Notes and errors travel from the worker as codes; the web translates them.
NOTE_CACHE_ONLY = "cache-only"
ERROR_UNREACHABLE = "unreachable"
ERROR_FAILED = "failed"
UNREACHABLE = (
    ServerUnreachable,
    Timeout,
    ConnectionLost,
    PoolExhausted,
    AuthenticationFailed,
    TlsError,
    AccountUnusable,
)


@dataclass(frozen=True)
class SearchQuery:
    """What the user asked for; folder_id None means every folder."""

    text: str = ""
    field: str = "text"
    folder_id: int | None = None
    since: date | None = None
    until: date | None = None
    unread: bool = False
    flagged: bool = False
    attachment: bool = False

    @property
    def empty(self) -> bool:
        """Return whether nothing at all was asked for."""
        return not (
            self.text
            or self.since
            or self.until
            or self.unread
            or self.flagged
            or self.attachment
        )

    def params(self) -> dict[str, str]:
        """Return the GET parameters of this search (for links and forms)."""
        values = {
            "q": self.text,
            "field": self.field if self.field != "text" else "",
            "folder": str(self.folder_id) if self.folder_id else "all",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "unread": "1" if self.unread else "",
            "flagged": "1" if self.flagged else "",
            "attachment": "1" if self.attachment else "",
        }
        return {key: value for key, value in values.items() if value}

    def to_json(self) -> dict[str, Any]:
        """Return the query as plain values, for a task."""
        values = asdict(self)
        values["since"] = self.since.isoformat() if self.since else None
        values["until"] = self.until.isoformat() if self.until else None
        return values

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> SearchQuery:
        since, until = values.get("since"), values.get("until")
        return cls(
            text=str(values.get("text", "")),
            field=str(values.get("field", "text")),
            folder_id=values.get("folder_id"),
            since=date.fromisoformat(since) if since else None,
            until=date.fromisoformat(until) if until else None,
            unread=bool(values.get("unread")),
            flagged=bool(values.get("flagged")),
            attachment=bool(values.get("attachment")),
        )


def parse_query(params: Mapping[str, str]) -> tuple[SearchQuery, list[str]]:
    """Return the search that GET parameters ask for, and what was wrong.

    A value that cannot be read is left out of the search (with a message
    for the user), never guessed. A folder that is neither "all" nor a
    number is a 404, like any other id that is not the user's.
    """
    errors: list[str] = []
    folder = params.get("folder", "all") or "all"
    folder_id: int | None = None
    if folder != "all":
        try:
            folder_id = int(folder)
        except ValueError:
            raise Http404("No such folder.") from None
    dates: dict[str, date | None] = {}
    for name, label in (("since", gettext("From date")), ("until", gettext("To date"))):
        value = params.get(name, "").strip()
        dates[name] = None
        if value:
            try:
                dates[name] = date.fromisoformat(value)
            except ValueError:
                errors.append(
                    gettext("%(label)s is not a date (YYYY-MM-DD): %(value)s")
                    % {"label": label, "value": value[:40]}
                )
    since, until = dates["since"], dates["until"]
    if since and until and since > until:
        errors.append(gettext("The from date is after the to date."))
    field_name = params.get("field", "text")
    query = SearchQuery(
        text=" ".join(params.get("q", "").split())[:200],
        field=field_name if field_name in FIELDS else "text",
        folder_id=folder_id,
        since=since,
        until=until,
        unread=params.get("unread") == "1",
        flagged=params.get("flagged") == "1",
        attachment=params.get("attachment") == "1",
    )
    return query, errors


def words(text: str) -> list[str]:
    """Split typed text into words; "quoted words" stay together."""
    return [quoted or bare for quoted, bare in _WORD.findall(text)]


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


# In the worker ----------------------------------------------------------------


def _folders(account_id: int, query: SearchQuery) -> list[Folder]:
    rows = Folder.objects.filter(account_id=account_id, selectable=True)
    if query.folder_id is not None:
        rows = rows.filter(id=query.folder_id)
    return list(rows.order_by("id"))


def _store(folder_id: int, summaries: Sequence[Any]) -> None:
    """Add fetched summaries to a folder's cache as the sync would.

    A wrapper over webmail.sync's own writer, so that the user's pending
    actions apply to these rows too and messages being moved away are not
    brought back.
    """
    with transaction.atomic():
        lock_folder(folder_id)
        folder = Folder.objects.get(id=folder_id)
        sync._insert(
            folder,
            summaries,
            sync._pending_flag_changes(folder),
            sync._pending_moves(folder),
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


# In the web process -------------------------------------------------------------


@dataclass
class SearchPage:
    """A page of results; error and note are ready to show, in the user's language."""

    messages: list[Message]
    next_before: str
    note: str = ""
    error: str = ""
    errors: list[str] = field(default_factory=list)
    # How many messages the search found in all (every page).
    total: int = 0


def search_timeout() -> float:
    return float(getattr(settings, "SEARCH_TIMEOUT", 30))


def _results_key(account_id: int, query: SearchQuery) -> str:
    digest = hashlib.sha256(
        json.dumps(query.to_json(), sort_keys=True).encode()
    ).hexdigest()[:32]
    return f"search:{account_id}:{digest}"


def _through_worker(
    account_id: int, query: SearchQuery, timeout: float
) -> dict[str, Any]:
    from celery.exceptions import TimeoutError as CeleryTimeout

    from webmail import tasks
    from webmail.routing import queue_for

    try:
        # expires: a search queued behind slow work is dropped, not run late.
        result = tasks.search.apply_async(
            (account_id, query.to_json()),
            queue=queue_for(account_id),
            expires=max(timeout, 1),
        )
        answer = result.get(timeout=timeout, propagate=False)
    except CeleryTimeout:
        return {
            "error": gettext(
                "The server took too long to answer the search. Try again, or "
                "narrow the search (one folder, a date range)."
            )
        }
    except Exception as exc:  # broker or result backend unreachable
        logger.warning("Could not search through the worker: %s", exc)
        return {"error": gettext("The mail service is busy; try again in a moment.")}
    if not isinstance(answer, dict):
        return {"error": gettext("The search failed; try again in a moment.")}
    return answer


def _error_text(answer: Mapping[str, Any]) -> str:
    code, detail = answer.get("error"), str(answer.get("detail", ""))
    if code == ERROR_UNREACHABLE:
        return gettext(
            "The mail server cannot be reached, so it cannot search: %(detail)s"
        ) % {"detail": detail}
    if code == ERROR_FAILED:
        return gettext("The mail server could not run this search: %(detail)s") % {
            "detail": detail
        }
    return str(code)


def _parse_cursor(value: str) -> tuple[int, int] | None:
    try:
        stamp, row_id = value.split("-", 1)
        return int(stamp), int(row_id)
    except ValueError:
        return None


def _answer(
    account: MailAccount, query: SearchQuery, reuse: bool, timeout: float | None
) -> dict[str, Any]:
    """Return the worker's answer to a search: cached when reuse and still kept."""
    if (
        query.folder_id is not None
        and not Folder.objects.filter(id=query.folder_id, account=account).exists()
    ):
        raise Http404("No such folder.")
    key = _results_key(account.id, query)
    answer = cache.get(key) if reuse else None
    if answer is None:
        limit_seconds = timeout if timeout is not None else search_timeout()
        answer = _through_worker(account.id, query, limit_seconds)
        if "error" not in answer:
            cache.set(key, answer, RESULTS_SECONDS)
    return answer


def find(
    account: MailAccount,
    query: SearchQuery,
    *,
    before: str = "",
    limit: int = PAGE_SIZE,
    timeout: float | None = None,
    reuse: bool = False,
) -> SearchPage:
    """Return a page of a server search's results, newest first.

    Waits for the account's worker up to timeout seconds (SEARCH_TIMEOUT).
    before is the next_before of the previous page: later pages reuse the
    hits of the first for a few minutes instead of searching again, and so
    does page 1 when reuse is set (the list shown again after an action).
    """
    answer = _answer(account, query, reuse or bool(before), timeout)
    if "error" in answer:
        return SearchPage([], "", error=_error_text(answer))
    note = ""
    if answer.get("note") == NOTE_CACHE_ONLY:
        note = gettext(
            "The mail server cannot search for this text, so only the subjects "
            "and senders loaded so far were searched."
        )
    # Newest first: the cursor is the (stamp, id) of the last hit shown.
    keys = [(-int(stamp), -int(row_id)) for stamp, row_id in answer["hits"]]
    start = 0
    cursor = _parse_cursor(before) if before else None
    if cursor is not None:
        start = bisect.bisect_right(keys, (-cursor[0], -cursor[1]))
    chosen = answer["hits"][start : start + limit]
    rows = Message.objects.filter(
        id__in=[row_id for _, row_id in chosen], folder__account=account
    ).select_related("folder")
    by_id = {row.id: row for row in rows}
    messages = [by_id[row_id] for _, row_id in chosen if row_id in by_id]
    more = start + limit < len(keys)
    next_before = f"{chosen[-1][0]}-{chosen[-1][1]}" if more and chosen else ""
    return SearchPage(messages, next_before, note=note, total=len(keys))


def result_ids(
    account: MailAccount, query: SearchQuery, *, timeout: float | None = None
) -> tuple[list[int], str]:
    """Return the cached Message ids of every result of a search, and an error.

    The hits of the search the user is looking at are reused while they are
    kept; after that the search runs again. Only the account's own messages
    are returned.
    """
    answer = _answer(account, query, True, timeout)
    if "error" in answer:
        return [], _error_text(answer)
    ids = [int(row_id) for _, row_id in answer["hits"]]
    own: list[int] = []
    for start in range(0, len(ids), _CHUNK):
        own += Message.objects.filter(
            id__in=ids[start : start + _CHUNK], folder__account=account
        ).values_list("id", flat=True)
    return own, ""
