"""Syncs that tell the account's open pages what changed, and queue what follows.

After a sync the user's pages hear of new, changed and expunged messages
(webmail.shared.events); a partly loaded folder gets its next backfill
batch queued, messages without a preview line the next batch of the
previews pass, and the newest new messages their bodies rendered ahead.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import MailAccount
from webmail import door
from webmail.engine.backfill import backfill_folder
from webmail.engine.folderlist import sync_folder_list
from webmail.engine.previews import PreviewResult, load_previews
from webmail.engine.sync import SyncResult, sync_folder, sync_folder_on
from webmail.imap import ImapSession
from webmail.models import Folder
from webmail.shared import events


def publish_sync(account_id: int, result: SyncResult | None) -> None:
    """Tell the account's open pages what a sync changed."""
    if result is None or not result.anything:
        return
    user_id = user_id_of(account_id)
    if user_id is None:
        return
    folder = result.folder_id
    base = {"account": account_id, "folder": folder}
    if result.rebuilt:
        events.publish(user_id, {"type": events.FOLDER, **base})
        return
    if result.vanished:
        events.publish(
            user_id, {"type": events.EXPUNGED, **base, "uids": result.vanished}
        )
    if result.changed:
        events.publish(user_id, {"type": events.FLAGS, **base, "uids": result.changed})
    if result.new:
        events.publish(user_id, {"type": events.NEW, **base, "uids": result.new})


def sync_and_publish(
    account_id: int, folder_id: int, session: ImapSession | None = None
) -> SyncResult | None:
    """Sync a folder, publish what changed, and backfill if asked to.

    With a session (the watcher's own, which has the folder open), the sync
    runs on it; otherwise on a command connection of the pool.
    """
    if session is None:
        result = sync_folder(account_id, folder_id)
    else:
        result = sync_folder_on(session, folder_id)
    publish_sync(account_id, result)
    _collect(account_id, result)
    if result is not None and result.more:
        door.load_older(account_id, folder_id)
    if result is not None and result.previews_due:
        door.load_previews(account_id, folder_id)
    if result is not None and result.new:
        # New mail is what gets opened next: its bodies are made ready
        # (fetched, parsed, sanitized, cached) now, newest first, so that
        # opening one is a cache hit. One task a message, so that a user's
        # own request never waits behind the whole batch.
        count = int(settings.BODY_PREFETCH)
        for uid in reversed(result.new[-count:] if count > 0 else []):
            door.prefetch_body(account_id, folder_id, uid)
    return result


def sync_folder_list_and_publish(
    account_id: int, *, counts: bool = True, always: bool = False
) -> list[int]:
    """Sync the folder list; publish if it changed; return stale folder ids.

    always: publish even if the cache had the list already.
    """
    listed = sync_folder_list(account_id, counts=counts)
    if listed.changed or always:
        user_id = user_id_of(account_id)
        if user_id is not None:
            events.publish(user_id, {"type": events.FOLDERS, "account": account_id})
    return listed.stale


def backfill_and_publish(account_id: int, folder_id: int) -> SyncResult | None:
    """Load older messages of a folder and publish them."""
    result = backfill_folder(account_id, folder_id)
    publish_sync(account_id, result)
    _collect(account_id, result)
    return result


def previews_and_publish(account_id: int, folder_id: int) -> PreviewResult | None:
    """Give the next messages their previews; pages showing them redraw."""
    result = load_previews(account_id, folder_id)
    # Only for the messages the pages show first: a redraw for each batch
    # of the pass through older mail would change nothing in view.
    if result is not None and result.newest and result.written:
        user_id = user_id_of(account_id)
        if user_id is not None:
            event = {"type": events.PREVIEWS, "account": account_id}
            events.publish(
                user_id, {**event, "folder": folder_id, "uids": result.written}
            )
    return result


def _collect(account_id: int, result: SyncResult | None) -> None:
    """New mail's addresses are counted later, by a task of their own."""
    if result is not None and (result.new or result.rebuilt):
        door.collect_addresses(account_id)


def user_id_of(account_id: int) -> int | None:
    """Return the id of the user who owns the account."""
    return (
        MailAccount.objects.filter(id=account_id)
        .values_list("user_id", flat=True)
        .first()
    )


def inbox_id(account_id: int) -> int | None:
    """Return the id of the account's INBOX folder in the cache."""
    row = (
        Folder.objects.filter(account_id=account_id, name__iexact="INBOX")
        .values_list("id", flat=True)
        .first()
    )
    return row
