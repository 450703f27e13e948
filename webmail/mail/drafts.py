"""The page side of drafts: save what the user is writing, reopen a draft.

``save`` records the form's latest text on a Draft row (webmail.models)
and, after the commit and once the page has its answer, asks the
account's worker to store it in the Drafts folder (door.save_draft;
webmail/engine/drafts.py does it). A save names the version the tab last
knew: if another tab or device saved the draft since, nothing is written
and the caller hears of the conflict, unless it asks to overwrite.

A draft opens for editing from its row (``start_from_row``: the same
webmail on any device) or from a message in the Drafts folder
(``start_from_message``: one another mail program wrote, too), which gets
a row of its own. A draft sent (compose.send_message ties it to the
message) is removed once it has gone.

Callers pass an account they got through accounts.access (the user's own).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import MailAccount
from webmail import door
from webmail.after_response import run_after_response
from webmail.mail.bodies import open_message
from webmail.mail.compose import Original, Start, formatted_addresses
from webmail.mime.text import html_to_text
from webmail.models import Draft, Message, Upload
from webmail.shared.addresses import address_pairs

# "format" and "html": what the HTML editor holds (webmail.mail.richtext);
# "files": the keys of its files (webmail/engine/draftfiles.py).
FIELDS = ("to", "cc", "bcc", "subject", "body", "identity", "format", "html", "files")
THREADING = ("in_reply_to", "references", "original")
# A draft's text is cut here rather than refused: about 2 MB of typing.
MAX_FIELD = 2_000_000


@dataclass(frozen=True)
class Saved:
    """What a save did: the draft's id and version now, or why nothing was saved."""

    draft_id: int
    version: int
    conflict: bool = False  # another tab or device saved a later version
    gone: bool = False  # the draft was sent or dropped meanwhile


def _ask_worker(account_id: int, draft_id: int) -> None:
    ask = partial(door.save_draft, account_id, draft_id)
    transaction.on_commit(lambda: run_after_response(ask))


def clean_fields(values: dict[str, str]) -> dict[str, str]:
    """The form's fields a draft keeps, as strings of a sane length."""
    return {name: str(values.get(name, ""))[:MAX_FIELD] for name in FIELDS + THREADING}


def save(
    account: MailAccount,
    draft_id: int | None,
    fields: dict[str, str],
    base_version: int | None,
    force: bool = False,
) -> Saved:
    """Record the form's text as the draft's next version.

    Without draft_id a new draft is made. base_version is the version the
    tab last saved or loaded; a later one on the row is a conflict, unless
    force. Raises Http404 for a draft that is not the account's.
    """
    fields = clean_fields(fields)
    with transaction.atomic():
        if draft_id is None:
            row = Draft.objects.create(
                account=account, token=secrets.token_hex(16), fields=fields
            )
            _ask_worker(account.id, row.id)
            return Saved(row.id, row.version)
        rows = Draft.objects.filter(
            id=draft_id, account=account, discarded=False, sent_with=None
        )
        if not force:
            rows = rows.filter(version=base_version or 0)
        changed = rows.update(
            fields=fields,
            version=F("version") + 1,
            error_kind="",
            error_detail="",
            attempts=0,
            next_attempt_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed and not force and base_version is not None:
            _ask_worker(account.id, draft_id)
            return Saved(draft_id, base_version + 1)
        found = (
            Draft.objects.filter(id=draft_id, account=account)
            .values_list("version", "discarded", "sent_with")
            .first()
        )
        if found is None:
            raise Http404("No such draft.")
        version, discarded, sent_with = found
        discarded = discarded or sent_with is not None
        if changed:
            _ask_worker(account.id, draft_id)
            return Saved(draft_id, version)
        return Saved(draft_id, version, conflict=not discarded, gone=discarded)


def draft_for(account: MailAccount, draft_id: int) -> Draft:
    """The account's draft with this id, or 404."""
    row = Draft.objects.filter(id=draft_id, account=account).first()
    if row is None:
        raise Http404("No such draft.")
    return row


def state_of(row: Draft) -> dict[str, Any]:
    """What the page shows of a draft: whether its last version is on the server."""
    state: dict[str, Any] = {
        "id": row.id,
        "version": row.version,
        "saved": row.saved_version >= row.version,
        "gone": row.discarded or row.sent_with_id is not None,
    }
    if row.error_kind:
        state["error"] = error_text(row.error_kind)
    return state


def error_text(kind: str) -> str:
    """Why a draft could not be stored, in the user's words."""
    if kind == "replaced":
        return gettext(
            "Another program changed or deleted this draft since you opened it."
            " Your version was saved beside it in Drafts."
        )
    if kind == "quota":
        return gettext(
            "The draft could not be saved: your mailbox is full. Your text is"
            " kept in this window; delete some mail, or send it."
        )
    return gettext(
        "The draft could not be saved on the mail server yet; it will be tried"
        " again. Your text is kept in this window."
    )


# Opening a draft ----------------------------------------------------------------


@dataclass(frozen=True)
class DraftFile:
    """A file of a draft, as the compose form lists it."""

    key: str
    filename: str
    size: int


@dataclass(frozen=True)
class Opened:
    """A draft to edit: the form's start, and the draft's id and version."""

    start: Start
    bcc: str
    draft_id: int
    version: int
    # "html" when it was written in the HTML editor, else "text".
    format: str = "text"
    files: tuple[DraftFile, ...] = ()


def files_of(row: Draft, keys: Sequence[str]) -> list[DraftFile]:
    """The draft's files with these keys: those of its copy in Drafts, and
    uploads not stored in it yet (a version the worker has still to store)."""
    listed = {str(f.get("key")): f for f in row.files or []}
    ids = [
        int(k[1:])
        for k in keys
        if k not in listed and k.startswith("u") and k[1:].isdigit()
    ]
    uploads = {
        f"u{u.id}": u
        for u in Upload.objects.filter(account_id=row.account_id, id__in=ids)
    }
    found = []
    for key in dict.fromkeys(keys):
        if key in listed:
            item = listed[key]
            name, size = str(item.get("filename", "")), int(item.get("size") or 0)
            found.append(DraftFile(key, name, size))
        elif key in uploads and uploads[key].complete:
            found.append(DraftFile(key, uploads[key].filename, uploads[key].size))
    return found


def posted_files(
    account: MailAccount, draft_id: int | None, keys: Sequence[str]
) -> list[DraftFile]:
    """The files of the account's draft that a posted form names."""
    if draft_id is None:
        return []
    row = Draft.objects.filter(id=draft_id, account=account).first()
    return files_of(row, keys) if row is not None else []


def _original(value: str) -> Original | None:
    parts = value.split(":")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return Original(int(parts[0]), int(parts[1]), parts[2])


def _opened(row: Draft) -> Opened:
    fields = row.fields
    identity = str(fields.get("identity", ""))
    start = Start(
        to=fields.get("to", ""),
        cc=fields.get("cc", ""),
        subject=fields.get("subject", ""),
        text=fields.get("body", ""),
        html=fields.get("html", ""),
        original=_original(fields.get("original", "")),
        in_reply_to=fields.get("in_reply_to", ""),
        references=tuple(fields.get("references", "").split()),
        identity_id=int(identity) if identity.isdigit() else None,
    )
    written = "html" if fields.get("format") == "html" and start.html else "text"
    files = tuple(files_of(row, str(fields.get("files", "")).split()))
    return Opened(start, fields.get("bcc", ""), row.id, row.version, written, files)


def start_from_row(account: MailAccount, draft_id: int) -> Opened:
    """Open the account's draft with this id, or 404 (also once it was sent)."""
    row = draft_for(account, draft_id)
    if row.discarded or row.sent_with_id is not None:
        raise Http404("No such draft.")
    return _opened(row)


def start_from_message(account: MailAccount, folder_id: int, uid: int) -> Opened:
    """Open a message of a folder as a draft, with the draft row it belongs to.

    A copy the webmail stored opens from its row (everything the form held,
    Bcc too); another program's draft gets a row now, from the cache's
    envelope and its text, so that saving it replaces that message.
    """
    message = (
        Message.objects.filter(folder_id=folder_id, folder__account=account, uid=uid)
        .select_related("folder")
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    row = Draft.objects.filter(
        account=account, folder_id=folder_id, uid=uid, discarded=False
    ).first()
    if row is not None:
        return _opened(row)
    body = open_message(account, message.folder, message)
    text = body.text or (html_to_text(body.html) if body.html else "")
    # Its files stay on the server; the worker fetches them when it stores
    # the next version or sends it. Files inside a winmail.dat are no parts.
    files: list[dict[str, Any]] = [
        {
            "key": f"p{a.part_id}",
            "section": a.part_id,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
        }
        for a in body.attachments
        if "~" not in a.part_id
    ]
    fields = clean_fields(
        {
            "to": formatted_addresses(address_pairs(message.to)),
            "cc": formatted_addresses(address_pairs(message.cc)),
            "subject": message.subject,
            "body": text,
            "in_reply_to": message.in_reply_to,
            "references": message.references,
            "files": " ".join(f"p{a['section']}" for a in files),
        }
    )
    with transaction.atomic():
        row = Draft.objects.create(
            account=account,
            token=secrets.token_hex(16),
            fields=fields,
            # It is on the server as it is: nothing to store until edited.
            saved_version=1,
            folder_id=folder_id,
            uid=uid,
            files=files,
        )
    return _opened(row)
