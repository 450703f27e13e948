"""The verbs of a server search: asked of the account's worker, paged from the cache.

The page parses a SearchQuery from its GET parameters and asks the
account's worker to run it (webmail.door); the answer is kept in the
Django cache for a few minutes so that the next pages of the results do
not search again; page 1 always searches afresh.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils.translation import gettext

from accounts.models import MailAccount
from webmail import door
from webmail.mail import ids
from webmail.models import Folder, Message
from webmail.shared.searching import (
    ERROR_FAILED,
    ERROR_UNREACHABLE,
    FIELDS,
    NOTE_CACHE_ONLY,
    NOTE_INCOMPLETE,
    SearchQuery,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 50

RESULTS_SECONDS = 300


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
            folder_id = ids.parse_id(folder)
        except ids.BadId:
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
    try:
        answer = door.search_server(account_id, query.to_json(), timeout)
    except door.NoAnswer:
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
    elif answer.get("note") == NOTE_INCOMPLETE:
        note = gettext(
            "The mail server could not search all of this text, so the webmail "
            "looked through the messages itself: the result may be incomplete."
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
    kept; after that the search runs again. The ids are the worker's answer
    for this account, not checked again here: the verbs that act on them
    (webmail.mail.bulk.apply_to_ids) leave out any that are not the
    account's or are gone from the cache.
    """
    answer = _answer(account, query, True, timeout)
    if "error" in answer:
        return [], _error_text(answer)
    return [int(row_id) for _, row_id in answer["hits"]], ""
