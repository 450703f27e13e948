"""The verbs for attaching files to a message being written.

The browser announces a file (start_upload), then sends it in chunks of
settings.COMPOSE_UPLOAD_CHUNK bytes (receive_chunk), each written to the
upload's file as it is read from the request: no file is ever whole in
memory. A chunk carries the offset it starts at; one that does not start
where the last one ended is refused with the number of bytes the server
has, so an upload cut off halfway carries on from there. Sending the
message ties its uploads to it (uploads_to_send); the worker reads them.

The limit is COMPOSE_MAX_ATTACHMENT_MB for all the files of one message,
or less when the account's SMTP server said in its EHLO that it takes
smaller messages (AccountState.smtp_max_size, learned by the worker).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Sum
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from accounts.models import MailAccount
from webmail.mime.filenames import safe_filename
from webmail.models import AccountState, Upload
from webmail.shared.uploads import WHOLE_MESSAGE, new_stored_name, path_of, remove

# Room for the message's headers and text beside its files.
_MESSAGE_ROOM = 64 * 1024
_READ = 64 * 1024
_SECTION = re.compile(r"^\d+(\.\d+)*$")


class UploadRefused(ValueError):
    """A file that cannot be attached; the message says why."""


class WrongOffset(ValueError):
    """A chunk that does not start where the upload stands."""

    def __init__(self, received: int) -> None:
        super().__init__(received)
        self.received = received


@dataclass(frozen=True)
class Limit:
    """The most a message's files may add up to, and whose limit it is."""

    size: int
    by_server: bool


def limit_for(account: MailAccount) -> Limit:
    """The attachment limit of the account's messages."""
    own = settings.COMPOSE_MAX_ATTACHMENT_MB * 1024 * 1024
    server = (
        AccountState.objects.filter(account=account)
        .values_list("smtp_max_size", flat=True)
        .first()
    )
    if server:
        # Base64 makes files a third larger in the message.
        fits = max(0, (server - _MESSAGE_ROOM) * 3 // 4)
        if fits < own:
            return Limit(fits, True)
    return Limit(own, False)


def too_large(filename: str, limit: Limit) -> str:
    """The message for a file over the limit."""
    values = {"name": filename, "limit": filesizeformat(limit.size)}
    if limit.by_server:
        return (
            gettext(
                "“%(name)s” is too large: your mail server takes messages whose "
                "attachments add up to %(limit)s at most."
            )
            % values
        )
    return (
        gettext(
            "“%(name)s” is too large: a message's attachments may add up to "
            "%(limit)s at most."
        )
        % values
    )


def _used(account: MailAccount, form_key: str, leave_out: int | None = None) -> int:
    if not form_key:
        return 0
    rows = Upload.objects.filter(account=account, form_key=form_key, outgoing=None)
    if leave_out is not None:
        rows = rows.exclude(id=leave_out)
    return int(rows.aggregate(total=Sum("size"))["total"] or 0)


def start_upload(
    account: MailAccount,
    form_key: str,
    filename: str,
    content_type: str,
    size: int,
    kept: int = 0,
) -> Upload:
    """Record a file about to be sent in chunks; raise UploadRefused.

    kept: the bytes of the files the message keeps from its draft or from
    the message it forwards, as the form lists them (they are not uploads).
    """
    filename = safe_filename(filename, gettext("attachment"))
    if size < 0:
        raise UploadRefused(gettext("The file's size is missing."))
    limit = limit_for(account)
    if _used(account, form_key) + max(kept, 0) + size > limit.size:
        raise UploadRefused(too_large(filename, limit))
    upload = Upload(
        account=account,
        form_key=form_key[:64],
        filename=filename,
        content_type=content_type[:255] if content_type.isascii() else "",
        size=size,
        stored_name=new_stored_name(),
    )
    path_of(upload).touch(exist_ok=False)
    upload.save()
    return upload


def upload_for(account: MailAccount, upload_id: int) -> Upload:
    """The account's upload with this id that is not sent yet, or 404."""
    upload = Upload.objects.filter(account=account, id=upload_id, outgoing=None).first()
    if upload is None:
        raise Http404("No such upload.")
    return upload


def receive_chunk(
    upload: Upload, offset: int, read: Callable[[int], bytes], length: int
) -> int:
    """Append a chunk of length bytes, read with read, to the upload; return
    the bytes received.

    Raises WrongOffset when offset is not where the upload stands, and
    UploadRefused when the chunk goes past the announced size.
    """
    if offset != upload.received:
        raise WrongOffset(upload.received)
    if offset + length > upload.size:
        raise UploadRefused(
            gettext("“%(name)s” is larger than announced; add it again.")
            % {"name": upload.filename}
        )
    written = 0
    with open(path_of(upload), "r+b") as file:
        file.seek(offset)
        while written < length:
            block = read(min(_READ, length - written))
            if not block:
                break
            file.write(block)
            written += len(block)
        file.truncate()
    # Only the request that found the upload where it stood moves it on.
    moved = Upload.objects.filter(id=upload.id, received=offset).update(
        received=offset + written
    )
    if not moved:
        current = Upload.objects.filter(id=upload.id).values_list("received", flat=True)
        raise WrongOffset(current.first() or 0)
    upload.received = offset + written
    if written < length:
        raise UploadRefused(interrupted(upload))
    return upload.received


def interrupted(upload: Upload) -> str:
    """The message for an upload that stopped before its end."""
    percent = upload.received * 100 // upload.size if upload.size else 0
    return gettext(
        "The upload of “%(name)s” stopped at %(percent)s%%; add the file again or "
        "remove it."
    ) % {"name": upload.filename, "percent": percent}


def remove_upload(upload: Upload) -> None:
    """Forget an upload the user removed, and its file."""
    remove([upload])


def uploads_of_form(account: MailAccount, ids: Sequence[int]) -> list[Upload]:
    """The account's unsent uploads with these ids, in the order given."""
    if not ids:  # most messages: no query to build and run
        return []
    rows = Upload.objects.filter(account=account, id__in=ids, outgoing=None)
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def problems(account: MailAccount, uploads: Sequence[Upload]) -> list[str]:
    """Why these files cannot go out yet: unfinished uploads, the limit."""
    if not uploads:
        return []
    found = [interrupted(u) for u in uploads if not u.complete]
    limit = limit_for(account)
    total = 0
    for upload in uploads:
        total += upload.size
        if total > limit.size:
            found.append(too_large(upload.filename, limit))
            break
    return found


def new_form_key() -> str:
    """A key naming one compose form, whose files the limit counts together."""
    return secrets.token_hex(16)


def forward_sections(values: Sequence[str]) -> list[str]:
    """The part numbers a forward keeps, bad ones left out, each once."""
    wanted = (v for v in values if v == WHOLE_MESSAGE or _SECTION.match(v))
    return list(dict.fromkeys(wanted))
