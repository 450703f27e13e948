"""The worker's Celery tasks. Tasks take ids and plain values and are safe to run twice.

Tasks named ``webmail.account.*`` take the account id first and run on the
account's shard queue (webmail.shared.routing). Each returns quietly when
its account or folder is gone, retries errors that waiting can cure (with
backoff and jitter), and records the others on the account for the user.
They are asked for through webmail.door, under the names it holds.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from django.conf import settings
from django.db import close_old_connections, connections

from accounts.models import MailAccount
from webmail import door
from webmail.engine import (
    addresses,
    bodies,
    compose,
    drafts,
    heartbeat,
    hub,
    outbox,
    parts,
    publish,
    retries,
)
from webmail.engine import search as searching
from webmail.engine.connections import close_pool, get_pool
from webmail.engine.publish import user_id_of
from webmail.imap import (
    ConnectionLost,
    ImapError,
    PoolExhausted,
    ServerUnreachable,
    Timeout,
)
from webmail.models import Folder, SendState
from webmail.shared import events, uploads
from webmail.shared.bodycache import LOAD_FAILED
from webmail.shared.routing import queue_for
from webmail.shared.searching import ERROR_FAILED, ERROR_UNREACHABLE

logger = logging.getLogger(__name__)

RETRYABLE = (ServerUnreachable, Timeout, ConnectionLost, PoolExhausted)
ACCOUNT_TASK: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
}


@shared_task(name=door.PING)
def ping() -> str:
    """Answer at once; used to see that a worker is up."""
    return "pong"


# Account tasks -------------------------------------------------------------------


def _report(account_id: int, exc: ImapError) -> None:
    outbox.record_account_error(account_id, exc)
    user_id = user_id_of(account_id)
    if user_id is not None:
        events.publish(user_id, {"type": events.STATUS, "account": account_id})


@shared_task(name=door.SYNC, bind=True, **ACCOUNT_TASK)
def sync(self: Task[Any, Any], account_id: int, folder_id: int | None = None) -> None:
    """Sync a folder of the account; without folder_id, the folders and INBOX."""
    if not MailAccount.objects.filter(id=account_id).exists():
        return
    try:
        if folder_id is None:
            # An account's first sync shows its inbox first, then counts the
            # other folders and the quota (slow on a large mailbox).
            first = not Folder.objects.filter(account_id=account_id).exists()
            stale = publish.sync_folder_list_and_publish(account_id, counts=not first)
            folder_id = publish.inbox_id(account_id)
            if first and folder_id is not None:
                publish.sync_and_publish(account_id, folder_id)
                stale = publish.sync_folder_list_and_publish(account_id)
            for other in stale:
                if other != folder_id:
                    door.sync_folder(account_id, other)
            if folder_id is None or first:
                return
        publish.sync_and_publish(account_id, folder_id)
    except ImapError as exc:
        _report(account_id, exc)
        if isinstance(exc, RETRYABLE):
            raise
        logger.info("Sync of account %s failed: %s", account_id, exc)


# Nobody waits for what these return: no result is stored for them.
@shared_task(name=door.BACKFILL, bind=True, ignore_result=True, **ACCOUNT_TASK)
def backfill(self: Task[Any, Any], account_id: int, folder_id: int) -> None:
    """Load the next batch of older messages; queue the next one if more."""
    try:
        result = publish.backfill_and_publish(account_id, folder_id)
    except ImapError as exc:
        if isinstance(exc, RETRYABLE):
            raise
        _report(account_id, exc)
        return
    if result is not None and result.more:
        door.load_older(account_id, folder_id)
    elif result is not None:
        # The whole folder is in: the previews pass goes on through it.
        door.load_previews(account_id, folder_id)


@shared_task(name=door.PREVIEWS, bind=True, ignore_result=True, **ACCOUNT_TASK)
def previews(self: Task[Any, Any], account_id: int, folder_id: int) -> None:
    """Read the next batch of preview lines (engine/previews.py); queue the next."""
    try:
        result = publish.previews_and_publish(account_id, folder_id)
    except ImapError as exc:
        if isinstance(exc, RETRYABLE):
            raise
        # Not the user's concern: opening a message gives its line anyway.
        logger.info("No previews for account %s: %s", account_id, exc)
        return
    if result is not None and result.more:
        door.load_previews(account_id, folder_id)


@shared_task(name=door.PUSH_OUTBOX, acks_late=True, ignore_result=True)
def push_outbox(account_id: int) -> None:
    """Apply the account's pending operations on the server, in order."""
    if MailAccount.objects.filter(id=account_id).exists():
        apply_outbox(account_id)


def apply_outbox(account_id: int) -> None:
    """Push the account's outbox from this worker; tell the user what failed.

    Operations that must wait are pushed again later (_later), or as soon
    as the server is reached again (engine/connections.py).
    """
    result = outbox.push(account_id)
    if result is None:
        return  # another thread of this worker is pushing this account
    user_id = None
    told = result.failed or result.partial
    if told or result.retry_in is not None:  # the user is told
        user_id = user_id_of(account_id)
    if told and user_id is not None:
        event = {"type": events.OUTBOX, "account": account_id, "failed": result.failed}
        events.publish(user_id, {**event, "partial": result.partial})
    for folder_id in result.touched_folders or ():
        door.sync_folder(account_id, folder_id)
    if result.folders_changed:
        # The cache took the user's changes at once; now it takes the
        # server's list (also what a refusal left as it was).
        publish.sync_folder_list_and_publish(account_id, counts=False, always=True)
    if result.retry_in is not None:
        if user_id is not None:
            events.publish(user_id, {"type": events.STATUS, "account": account_id})
        _later.at(account_id, result.retry_in)


# Pushes put off until the server may be back (see engine/retries.py).
_later = retries.Later(door.push_changes)


@shared_task(name=door.SEND_MESSAGE, acks_late=True, ignore_result=True)
def send_message(account_id: int, outgoing_id: int) -> None:
    """Submit a message the user sent, then file its copy in Sent (engine/compose.py).

    Safe to run twice: only a pending message is taken. A send that must
    wait is left pending for the sweep, which queues it again when due.
    """
    result = compose.send(outgoing_id)
    if result is None:
        wait = compose.seconds_to_wait(outgoing_id)
        if 0 < wait <= door.SEND_COUNTDOWN_MAX:
            door.send_message(account_id, outgoing_id, countdown=wait)
        return
    if result.state in (SendState.SENT, SendState.FAILED):
        for draft_id in drafts.after_send(outgoing_id, result.state == SendState.SENT):
            door.save_draft(account_id, draft_id)
    if result.state == SendState.SENT:
        addresses.collect_sent(outgoing_id)
    if result.flagged:
        _push_now(account_id)
    if result.sent_folder_id is not None:
        _sync_sent(account_id, result.sent_folder_id)
    user_id = user_id_of(account_id)
    if user_id is not None:
        event = {"type": events.SENT, "account": account_id, "id": outgoing_id}
        events.publish(user_id, {**event, "state": result.state})


def _sync_sent(account_id: int, folder_id: int) -> None:
    """Bring the Sent copy into the cache before the page hears "Sent".

    So the conversation it answers shows it as soon as the page says it
    went; a server that fails now leaves it to a queued sync.
    """
    try:
        publish.sync_and_publish(account_id, folder_id)
    except ImapError as exc:
        logger.info("Sync of Sent of account %s failed: %s", account_id, exc)
        door.sync_folder(account_id, folder_id)


@shared_task(name=door.SAVE_DRAFT, bind=True, ignore_result=True, **ACCOUNT_TASK)
def save_draft(self: Task[Any, Any], account_id: int, draft_id: int) -> None:
    """Store a draft's latest version in Drafts, or remove a sent one (engine/drafts).

    Safe to run twice: a version already stored is not stored again. What
    the server refused is on the row for the page; what waiting may cure
    is retried, and the sweep finds a save whose task was lost.
    """
    try:
        result = drafts.store(draft_id)
    except ImapError as exc:
        if isinstance(exc, RETRYABLE):
            raise
        _report(account_id, exc)
        return
    if result is not None and result.folder_id is not None:
        door.sync_folder(account_id, result.folder_id)


@shared_task(name=door.COLLECT_ADDRESSES, acks_late=True, ignore_result=True)
def collect_addresses(account_id: int) -> None:
    """Count the addresses of the account's newly cached mail (engine/addresses.py)."""
    done = addresses.collect_from_cache(account_id)
    if done and addresses.more_to_collect(account_id):
        door.collect_addresses(account_id)


@shared_task(name=door.WATCH, acks_late=True, ignore_result=True)
def watch(account_id: int) -> None:
    """Make sure this worker keeps an IDLE watcher on the account."""
    if MailAccount.objects.filter(id=account_id).exists():
        hub.ensure_watching(account_id)


@shared_task(name=door.FETCH_BODY, bind=True, ignore_result=True, **ACCOUNT_TASK)
def fetch_body(
    self: Task[Any, Any],
    account_id: int,
    folder_id: int,
    uid: int,
    reply_to: str,
    mark_seen_until: float | None = None,
    facts: dict[str, Any] | None = None,
) -> None:
    """Fetch, decode and cache a message's body; hand it to reply_to (engine/bodies.py).

    With mark_seen_until (a time.time()), a body that could be read and was
    handed over before then is marked read: the reader showed it read, and
    does not wait for that write. facts: mail.bodies.message_facts(), from the web.
    """
    try:
        rendered = bodies.render_body(account_id, folder_id, uid, facts)
    except ImapError as exc:
        if isinstance(exc, outbox.ACCOUNT_ERRORS):
            # Recorded at once: opening more of its mail then says so
            # without asking (webmail.mail.status.unreachable_error).
            _report(account_id, exc)
        if isinstance(exc, RETRYABLE) and self.request.retries < 1:
            raise
        rendered = bodies.Rendered({"error": str(exc)})
    except Exception:
        # The reader hears at once rather than when its wait runs out.
        bodies.reply(reply_to, LOAD_FAILED)
        raise
    # Cached first: the page the reader gets loads the body frame from it.
    bodies.store(rendered)
    bodies.reply(reply_to, rendered.body)
    in_time = mark_seen_until is not None and time.time() < mark_seen_until
    bodies.save_preview(rendered)
    readable = in_time and "error" not in rendered.body
    # Last, so that the flag reaching the server ends the task's work.
    owner = facts.get("owner") if facts else None
    if readable and bodies.mark_seen_after_fetch(account_id, folder_id, uid, owner):
        _push_now(account_id)


def _push_now(account_id: int) -> None:
    """Push an operation this task has just committed, here and now.

    This worker owns the account's connections: a queued push_outbox would
    add a broker round trip and a second task before the flag reaches the
    server. The operation is committed first, so whatever this push leaves
    undone a queued push (or the sweep) still applies.
    """
    try:
        apply_outbox(account_id)
    except Exception:
        # Not raised: fetch_body would be retried, and fetch the body again.
        logger.exception("Could not push the outbox of %s; queued", account_id)
        door.push_changes(account_id)


@shared_task(name=door.PREFETCH_BODY, ignore_result=True)
def prefetch_body(account_id: int, folder_id: int, uid: int) -> None:
    """Fetch, decode and cache a new message's body before anyone opens it."""
    try:
        bodies.prefetch(account_id, folder_id, uid)
    except ImapError as exc:
        # Opening the message fetches it then, and says what went wrong.
        logger.info("No body prefetched for account %s: %s", account_id, exc)


@shared_task(name=door.SEARCH)
def search(account_id: int, query: dict[str, Any]) -> dict[str, Any]:
    """Search the account's server (engine/search.py); errors come back as codes.

    Not retried: the page waiting for the answer would be gone by then.
    """
    try:
        return searching.run_search(account_id, query)
    except ImapError as exc:
        unreachable = isinstance(exc, searching.UNREACHABLE)
        code = ERROR_UNREACHABLE if unreachable else ERROR_FAILED
        return {"error": code, "detail": str(exc)}


@shared_task(name=door.FORGET)
def forget(account_id: int) -> None:
    """Close the account's unused connections (its settings changed)."""
    get_pool().discard(account_id)


# Periodic tasks (beat) --------------------------------------------------------


@shared_task(name=door.SWEEP_OUTBOX)
def sweep_outbox() -> int:
    """Queue a push for every account whose outbox has due operations.

    Catches operations whose task was lost (a killed worker, a restarted
    broker) or whose retry was only scheduled in a worker's memory.
    """
    count = sum(door.push_changes(account_id) for account_id in outbox.due_accounts())
    # Messages to send whose task was lost, or whose retry is due.
    for account_id, outgoing_id in compose.due():
        count += door.send_message(account_id, outgoing_id)
    # Drafts whose save was lost with its task, or is due to be tried again.
    for account_id, draft_id in drafts.due():
        count += door.save_draft(account_id, draft_id)
    return count


@shared_task(name=door.CLEAN_UPLOADS)
def clean_uploads() -> int:
    """Remove the attachments of messages never sent, and stray files."""
    return uploads.clean_abandoned()


def resume_outboxes(queues: list[str]) -> None:
    """Push, here and now, the due outboxes of the accounts of these queues.

    Run when Redis comes back after an outage (the heartbeat sees it): the
    actions the pages recorded meanwhile could not be queued, and this
    worker's consumer may take a while to find the broker again.
    """
    close_old_connections()
    try:
        for account_id in outbox.due_accounts():
            if queue_for(account_id) in queues:
                apply_outbox(account_id)
    finally:
        connections.close_all()


@shared_task(name=door.REAP_CONNECTIONS)
def reap_connections() -> None:
    """Ask every shard's worker to close its long-unused connections."""
    for shard in range(settings.IMAP_SHARDS):
        try:
            reap_shard.apply_async(queue=f"imap.{shard}", expires=120)
        except Exception:
            logger.warning("Could not queue the reaping of shard %s", shard)


@shared_task(name=door.REAP_SHARD)
def reap_shard() -> int:
    """Close this worker's connections unused for IMAP_IDLE_TIMEOUT."""
    return get_pool().reap()


@shared_task(name=door.STREAM_PARTS, acks_late=False)
def stream_parts(
    account_id: int, folder_id: int, uid: int, sections: list[str], key: str
) -> None:
    """Push parts of a message onto a Redis list for a download (engine/parts.py).

    Never retried or redelivered: the reader has taken what was sent, so a
    second run would repeat it. The reader sees an error element instead.
    """
    parts.stream_to_redis(account_id, folder_id, uid, sections, key)


# The worker's start and end -----------------------------------------------------


_heartbeat: heartbeat.Heartbeat | None = None


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: object) -> None:
    # The pages look for it before they wait on this worker's shards.
    global _heartbeat
    consumer = getattr(sender, "task_consumer", None)
    queues = [queue.name for queue in getattr(consumer, "queues", [])]
    shards = [name for name in queues if name.startswith("imap.")]
    name = str(getattr(sender, "hostname", "") or "worker")
    _heartbeat = heartbeat.Heartbeat(
        shards, name, on_redis_back=lambda: resume_outboxes(shards)
    )
    _heartbeat.start()


@worker_shutting_down.connect
def _stop_heartbeat(**_: object) -> None:
    # From here on the worker takes no new task: the pages should know.
    if _heartbeat is not None:
        _heartbeat.stop(timeout=1.0)


@worker_shutdown.connect
def _log_out_everything(**_: object) -> None:
    _stop_heartbeat()
    hub.stop_all()
    close_pool()


@worker_ready.connect
def _resume_outbox(**_: object) -> None:
    # Tasks lost with a killed worker or a restarted Redis leave pending
    # operations behind; the beat sweep finds them too, but a starting
    # worker need not wait for it.
    try:
        sweep_outbox.delay()
    except Exception:  # the broker may be down; the beat sweep retries
        logger.exception("Could not queue the outbox sweep")
