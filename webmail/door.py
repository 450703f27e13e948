"""The door between the pages and the workers: typed requests for work on an account.

Pages (webmail.mail) and the engine itself ask for work here and nowhere
else. Each function sends a Celery task by its name to the account's
shard queue (webmail.shared.routing), so that one worker process owns the
account's connections; it knows nothing of how the task runs
(webmail.engine.tasks holds the tasks under these names).

The fire-and-forget requests never raise: a broker outage must not fail
the user's request, and the outbox sweep finds what was not sent. Those a
page waits on (a body, a part stream, a search) raise, for the page to say
that the mail service is busy.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from celery.exceptions import TimeoutError as CeleryTimeout

from webmail.shared import outage
from webmail.shared.routing import queue_for

logger = logging.getLogger(__name__)

# Task names. Tasks named webmail.account.* take the account id first and
# run on the account's shard queue; the names are part of the messages in
# the broker, so they stay the same from one release to the next.
PING = "webmail.ping"
SYNC = "webmail.account.sync"
BACKFILL = "webmail.account.backfill"
PREVIEWS = "webmail.account.previews"
PUSH_OUTBOX = "webmail.account.push_outbox"
WATCH = "webmail.account.watch"
FETCH_BODY = "webmail.account.fetch_body"
PREFETCH_BODY = "webmail.account.prefetch_body"
SEARCH = "webmail.account.search"
FORGET = "webmail.account.forget"
STREAM_PARTS = "webmail.account.stream_parts"
SEND_MESSAGE = "webmail.account.send_message"
SAVE_DRAFT = "webmail.account.save_draft"


COLLECT_ADDRESSES = "webmail.account.collect_addresses"
SWEEP_OUTBOX = "webmail.sweep_outbox"
REAP_CONNECTIONS = "webmail.reap_connections"
REAP_SHARD = "webmail.reap_shard"
CLEAN_UPLOADS = "webmail.clean_uploads"
APPLY_RETENTION = "webmail.account.apply_retention"
CHECK_RETENTION = "webmail.check_retention"

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.2}


class NoAnswer(Exception):
    """The worker did not answer within the time the page can wait."""


def _send(
    name: str,
    account_id: int,
    *args: Any,
    kwargs: dict[str, Any] | None = None,
    answered: bool = False,
    **options: Any,
) -> Any:
    """Send a task to the account's queue; the broker's errors go up.

    answered: the caller waits for the task's result. Other sends skip the
    result backend's subscription (a Redis round trip).
    """
    return current_app.send_task(
        name,
        (account_id, *args),
        kwargs,
        queue=queue_for(account_id),
        retry=True,
        retry_policy=PUBLISH_RETRY,
        ignore_result=not answered,
        **options,
    )


def _ask(name: str, account_id: int, *args: Any, **options: Any) -> bool:
    """Send a task nobody waits for; return False (and log) if it could not go."""
    try:
        _send(name, account_id, *args, **options)
    except Exception as exc:  # the broker is down; the sweep catches up
        outage.redis.failed(f"{name} for account {account_id} not queued", exc)
        return False
    outage.redis.answered()
    return True


# Nobody waits for these --------------------------------------------------------


def sync_folder(account_id: int, folder_id: int | None = None) -> bool:
    """Ask the account's worker to sync a folder (None: folder list + INBOX)."""
    return _ask(SYNC, account_id, folder_id)


def load_older(account_id: int, folder_id: int) -> bool:
    """Ask the account's worker to load older messages of a folder."""
    return _ask(BACKFILL, account_id, folder_id)


def load_previews(account_id: int, folder_id: int) -> bool:
    """Ask the account's worker to read the next messages' preview lines."""
    return _ask(PREVIEWS, account_id, folder_id)


def push_changes(account_id: int) -> bool:
    """Ask the account's worker to apply its pending operations."""
    return _ask(PUSH_OUTBOX, account_id)


def prefetch_body(account_id: int, folder_id: int, uid: int) -> bool:
    """Ask the account's worker to have a new message's body ready."""
    return _ask(PREFETCH_BODY, account_id, folder_id, uid)


# A message due later than this is not held by a task: Redis hands a task
# held longer than its visibility timeout (an hour) to a second worker. The
# outbox sweep (every minute) sends it once due.
SEND_COUNTDOWN_MAX = 3000.0


def send_message(account_id: int, outgoing_id: int, countdown: float = 0) -> bool:
    """Ask the account's worker to submit a recorded message (in countdown s)."""
    if countdown > 0:
        return _ask(SEND_MESSAGE, account_id, outgoing_id, countdown=countdown)
    return _ask(SEND_MESSAGE, account_id, outgoing_id)


def apply_retention(account_id: int) -> bool:
    """Ask the account's worker to apply its retention rules that are due."""
    return _ask(APPLY_RETENTION, account_id)


def save_draft(account_id: int, draft_id: int) -> bool:
    """Ask the account's worker to store a draft's latest version in Drafts."""
    return _ask(SAVE_DRAFT, account_id, draft_id)


def collect_addresses(account_id: int) -> bool:
    """Ask the account's worker to collect the addresses of newly cached mail."""
    return _ask(COLLECT_ADDRESSES, account_id)


def keep_watching(account_id: int) -> bool:
    """Ask the account's worker to keep (or start) its IDLE watcher."""
    return _ask(WATCH, account_id)


def forget_connections(account_id: int) -> bool:
    """Ask the account's worker to close its unused connections (new settings)."""
    return _ask(FORGET, account_id)


# A page waits for these ----------------------------------------------------------


def fetch_body(
    account_id: int,
    folder_id: int,
    uid: int,
    reply_to: str,
    *,
    mark_seen_until: float | None = None,
    facts: dict[str, Any] | None = None,
    expires: float | None = None,
) -> None:
    """Ask for a body to be fetched and pushed onto the Redis list reply_to.

    mark_seen_until (a time.time()): mark it read if handed over before
    then. facts: what the page has read of the message already. A request
    still queued after expires seconds (the page has given up by then) is
    dropped, not run late.
    """
    kwargs: dict[str, Any] = {}
    if facts:
        kwargs["facts"] = facts
    if mark_seen_until is not None:
        kwargs["mark_seen_until"] = mark_seen_until
    options: dict[str, Any] = {} if expires is None else {"expires": expires}
    _send(FETCH_BODY, account_id, folder_id, uid, reply_to, kwargs=kwargs, **options)


def stream_parts(
    account_id: int,
    folder_id: int,
    uid: int,
    sections: list[str],
    key: str,
    expires: float,
) -> None:
    """Ask for parts of a message (section "": all of it) streamed onto key.

    A stream still queued after expires seconds is dropped, not started.
    """
    _send(STREAM_PARTS, account_id, folder_id, uid, sections, key, expires=expires)


def search_server(
    account_id: int, query: dict[str, Any], timeout: float
) -> dict[str, Any] | None:
    """Run a search (SearchQuery.to_json()) on the server; wait for the answer.

    Raises NoAnswer after timeout seconds; a search still queued by then is
    dropped, not run late. None: the worker answered with no dict.
    """
    result = _send(SEARCH, account_id, query, answered=True, expires=max(timeout, 1))
    try:
        answer = result.get(timeout=timeout, propagate=False)
    except CeleryTimeout:
        raise NoAnswer from None
    return answer if isinstance(answer, dict) else None
