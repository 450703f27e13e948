"""Storing drafts in the account's Drafts folder, one copy each.

The page records each save on a Draft row (webmail/mail/drafts.py); the
task webmail.account.save_draft brings it here. ``store`` builds the
row's latest version (webmail.mime.compose) with its files (written to
a temporary file by webmail/engine/draftfiles.py), APPENDs it to Drafts
(special-use \\Drafts, else the folder named Drafts, made when missing)
and then removes every other copy of that draft: the ones whose
X-Webmail-Draft header carries the row's token (found with UID SEARCH,
so a copy a killed worker APPENDed without recording it goes too) and
the message the draft was opened from. With UIDPLUS that is UID EXPUNGE
of exactly those UIDs; without it they are marked \\Deleted, and EXPUNGE
is sent only when no other message of Drafts is marked \\Deleted, so that
nothing another client marked goes with them. If the copy the row names
has gone (another program replaced or deleted the draft), the new copy
gets a new token and nothing is removed: the user is told, and both stay.

One thread stores a given draft at a time. Saves that come meanwhile
only raise the row's version: when its APPEND is done the thread reads
the row again and stores the latest version in one more APPEND, and the
tasks that waited find nothing left to do. A draft the user sent has
its copies removed once the message has gone (``after_send``), then its
row; one whose sending failed for good stays, to be edited again.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from email.utils import getaddresses
from typing import BinaryIO

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from webmail.engine import draftfiles, folderlist
from webmail.engine.connections import with_session
from webmail.imap import FolderMissing, ImapError, ImapSession, OverQuota
from webmail.mime.compose import (
    ComposeError,
    Outgoing,
    Recipient,
    build_message,
    parse_recipients,
)
from webmail.mime.outgoing_html import InlineTooLarge, PreparedHtml, prepare_html
from webmail.models import AccountState, Draft, Folder, SendState

logger = logging.getLogger(__name__)

HEADER = "X-Webmail-Draft"
FLAGS = ("\\Draft", "\\Seen")
MAX_ATTEMPTS = 8
# A save the worker has not stored after this was lost with its task.
STALE = timedelta(seconds=30)


@dataclass(frozen=True)
class Stored:
    """What store did: the Drafts folder it changed, and whether it failed."""

    folder_id: int | None = None
    error: str = ""
    removed: bool = False


def drafts_folder(account_id: int) -> Folder | None:
    """The account's Drafts folder: special-use \\Drafts, or the one named Drafts."""
    folders = Folder.objects.filter(account_id=account_id, selectable=True)
    return (
        folders.filter(special_use__iexact="\\Drafts").first()
        or folders.filter(Q(name__iexact="Drafts") | Q(display_name__iexact="Drafts"))
        .order_by("name")
        .first()
    )


def _made_drafts_folder(account_id: int) -> Folder:
    """The Drafts folder, after reading the folder list, made if still missing."""
    folderlist.sync_folder_list(account_id, counts=False)
    folder = drafts_folder(account_id)
    if folder is None:
        state = AccountState.objects.filter(account_id=account_id).first()
        name = (state.folder_prefix if state else "") + "Drafts"
        with_session(account_id, lambda session: session.create_folder(name))
        folderlist.sync_folder_list(account_id, counts=False)
        folder = drafts_folder(account_id)
    if folder is None:
        raise FolderMissing("There is no Drafts folder.")
    Folder.objects.filter(id=folder.id, special_use="").update(special_use="\\Drafts")
    return folder


def _recipients(typed: str) -> tuple[Recipient, ...]:
    """The addresses of a field as far as they go: a draft keeps half-typed ones."""
    try:
        return parse_recipients(typed)
    except ComposeError:
        pairs = getaddresses([typed])
        return tuple(Recipient(n, a) for n, a in pairs if "@" in a and " " not in a)


def _prepared_html(fields: dict[str, str], sender: str) -> PreparedHtml | None:
    """A draft written in the HTML editor, as it would be sent; None for text.

    Images over the limit leave the copy on the server in plain text: the
    row keeps the HTML, and sending says what is too large.
    """
    markup = fields.get("html", "")
    if fields.get("format") != "html" or not markup.strip():
        return None
    limit = int(settings.COMPOSE_MAX_INLINE_MB) * 1024 * 1024
    try:
        return prepare_html(markup, sender.rpartition("@")[2], limit)
    except InlineTooLarge:
        return None


def build_draft(row: Draft, token: str | None = None) -> bytes:
    """The draft's message: what the form held, Bcc included, marked with a token.

    token: the row's own unless another is given.
    """
    token = token or row.token
    fields = row.fields
    account = row.account
    name = account.user.get_full_name() if account.user_id else ""
    sender = Recipient(name, account.email)
    identity_id = str(fields.get("identity", ""))
    if identity_id.isdigit():
        identity = account.identities.filter(id=int(identity_id)).first()
        if identity is not None:
            sender = Recipient(identity.name or name, identity.email)
    bcc = _recipients(fields.get("bcc", ""))
    headers = [(HEADER, token)]
    if bcc:
        headers.append(("Bcc", ", ".join(r.formatted() for r in bcc)))
    prepared = _prepared_html(fields, sender.address)
    outgoing = Outgoing(
        sender=sender,
        to=_recipients(fields.get("to", "")),
        cc=_recipients(fields.get("cc", "")),
        subject=fields.get("subject", "")[:998],
        text=fields.get("body", ""),
        html=prepared.html if prepared else None,
        inline=prepared.inline if prepared else (),
        in_reply_to=fields.get("in_reply_to", "") or None,
        references=tuple(fields.get("references", "").split()),
        extra_headers=tuple(headers),
    )
    try:
        return build_message(outgoing)
    except ComposeError:  # an address the header cannot take: text first
        plain = replace(outgoing, to=(), cc=(), extra_headers=((HEADER, token),))
        return build_message(plain)


def _remove(session: ImapSession, uids: set[int]) -> None:
    if not uids:
        return
    if session.capabilities.has("UIDPLUS"):
        session.expunge_uids(uids)
        return
    session.store_flags(uids, ["\\Deleted"])
    if set(session.search_uids("DELETED")) <= uids:
        session.expunge_selected()


def _copies(session: ImapSession, folder: str, token: str) -> list[int]:
    session.refresh_folder(folder)
    return session.search_uids("HEADER", HEADER, token)


# Writes the draft's copy under a token, its files fetched (when they must
# be) from the copy it replaces, whose UID it is given.
Writer = Callable[[ImapSession, str, int | None], BinaryIO]


def _replace(
    row: Draft, folder: Folder, write: Writer | None
) -> tuple[int | None, str]:
    """APPEND the draft (write's file; None: nothing), remove its other copies.

    Returns the new UID and the token the copy carries. When the copy the
    row names has gone from Drafts, another program replaced or deleted
    it: the draft is then stored under a new token, and nothing is removed,
    so that whatever that program saved stays beside it.
    """
    old = {row.uid} if row.uid is not None and row.folder_id == folder.id else set()

    def work(session: ImapSession) -> tuple[int | None, str]:
        token = row.token
        copy_uid = min(old) if old else None
        if write is not None and old:
            session.refresh_folder(folder.name)
            if not session.search_uids("UID", str(copy_uid)):
                token = secrets.token_hex(16)
                copy_uid = None
        message = write(session, token, copy_uid) if write is not None else None
        uid = None
        if message is not None:
            uid = session.append(folder.name, message, FLAGS)
        copies = _copies(session, folder.name, token)
        if message is not None and uid is None and copies:
            uid = max(copies)  # no APPENDUID: the newest copy is this one
        if token == row.token:
            _remove(session, (set(copies) | old) - {uid})
        return uid, token

    return with_session(row.account_id, work, folder=folder.name)


def _fail(row: Draft, version: int, kind: str, exc: ImapError) -> Stored:
    later = timezone.now() + timedelta(seconds=min(15 * 2**row.attempts, 900))
    Draft.objects.filter(id=row.id, version=version).update(
        error_kind=kind,
        error_detail=str(exc)[:2000],
        attempts=F("attempts") + 1,
        next_attempt_at=later,
    )
    logger.info("Draft %s of account %s: %s", row.id, row.account_id, exc)
    return Stored(error=kind)


def _store_once(row: Draft) -> Stored:
    folder = drafts_folder(row.account_id)
    if row.discarded or (row.sent_with and row.sent_with.state == SendState.SENT):
        if folder is not None:
            _replace(row, folder, None)
        Draft.objects.filter(id=row.id).delete()
        return Stored(folder.id if folder else None, removed=True)
    version = row.version
    written: list[draftfiles.Written] = []
    stack = contextlib.ExitStack()

    def write(session: ImapSession, token: str, copy_uid: int | None) -> BinaryIO:
        raw = build_draft(row, token)
        written.append(draftfiles.write_copy(session, row, copy_uid, raw, stack))
        return written[-1].file

    try:
        with stack:
            if folder is None:
                folder = _made_drafts_folder(row.account_id)
            try:
                uid, token = _replace(row, folder, write)
            except FolderMissing:  # another client deleted it since the last sync
                folder = _made_drafts_folder(row.account_id)
                uid, token = _replace(row, folder, write)
    except OverQuota as exc:
        return _fail(row, version, "quota", exc)
    except FolderMissing as exc:
        return _fail(row, version, "folder", exc)
    except ImapError as exc:
        if exc.retryable:
            raise  # the task tries again; the sweep after that
        return _fail(row, version, "server", exc)  # a refused APPEND, say
    # Another program replaced or deleted the copy: the user hears of it.
    replaced = token != row.token
    Draft.objects.filter(id=row.id, saved_version__lt=version).update(
        saved_version=version,
        folder=folder,
        uid=uid,
        files=written[-1].files if written else [],
        token=token,
        error_kind="replaced" if replaced else "",
        error_detail="",
        attempts=0,
    )
    return Stored(folder.id)


def store(draft_id: int) -> Stored | None:
    """Store the draft's latest version, or remove a sent one; None: nothing to do.

    Errors that waiting can cure (the server unreachable) go up, for the
    task to retry; the row keeps the version, for the sweep.
    """
    result: Stored | None = None
    with draftfiles.draft_lock(draft_id):
        while True:
            row = Draft.objects.select_related("account__user", "sent_with")
            found = row.filter(id=draft_id).first()
            if found is None:
                return result
            sent = found.sent_with and found.sent_with.state == SendState.SENT
            if not (found.discarded or sent) and found.saved_version >= found.version:
                return result
            result = _store_once(found)
            if result.error or result.removed:
                return result


def after_send(outgoing_id: int, sent: bool) -> list[int]:
    """A message was sent (or failed for good): settle the drafts it was made from.

    Sent: they are discarded, and their ids returned for store() to
    remove. Failed: they are the user's to edit again.
    """
    rows = Draft.objects.filter(sent_with_id=outgoing_id)
    if not sent:
        rows.update(sent_with=None)
        return []
    ids = list(rows.values_list("id", flat=True))
    Draft.objects.filter(id__in=ids).update(discarded=True)
    return ids


def due() -> list[tuple[int, int]]:
    """(account id, draft id) of the drafts whose last save was not stored.

    Saves are stored within a second or two; one older than STALE was lost
    with its task (a killed worker, a restarted broker), or is waiting to be
    tried again.
    """
    now = timezone.now()
    rows = Draft.objects.filter(
        Q(discarded=True)
        | Q(saved_version__lt=F("version"))
        | Q(sent_with__state=SendState.SENT),
        next_attempt_at__lte=now,
        updated_at__lt=now - STALE,
        attempts__lt=MAX_ATTEMPTS,
    ).values_list("account_id", "id")
    return list(rows)
