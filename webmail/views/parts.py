"""Attachments, inline parts and the raw message, streamed from the worker.

Every response streams (webmail/mail/parts.py): the web process holds one chunk
at a time. Downloads and previews carry their own sandboxing policy and
nosniff, so a part can never run as a page of this site. Inline images of
the body frame come through a signed URL, as the frame sends no cookies.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from asgiref.sync import sync_to_async
from csp.constants import NONE, SELF
from csp.decorators import csp
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import connections
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.access import get_account_for_user
from accounts.models import MailAccount, User
from webmail.mail import bodies, parts, reading
from webmail.mime.filenames import safe_filename, unique_names
from webmail.serving import streams
from webmail.shared import partlinks, partstream
from webmail.views import attached, present

if TYPE_CHECKING:
    from webmail.models import Folder, Message

# An IMAP section, and for a file inside a winmail.dat its place: "2~1".
_PART_ID = re.compile(r"[1-9][0-9]{0,5}(\.[1-9][0-9]{0,5}){0,20}(~[1-9][0-9]{0,3})?")
_CHARSET = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
PART_POLICY = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
# A PDF preview opens in a tab of its own. Its type (application/pdf) with
# nosniff hands the bytes to the browser's PDF viewer only, never to an HTML
# parser: that is what keeps a hostile PDF from running script as this site.
# The policy holds if a browser renders it as a document anyway: the sandbox
# gives it an opaque origin (no cookies, storage or requests as the user),
# nothing may load, submit or frame it. Chromium 156 still shows PDFs under
# it and X-Frame-Options: DENY; its viewer is browser UI that the policy
# does not govern (its pages keep this site's origin, hence nosniff).
PDF_POLICY = (
    "sandbox; default-src 'none'; frame-ancestors 'none'; "
    "form-action 'none'; base-uri 'none'"
)

STATUS = {
    partstream.ERROR_MISSING: 404,
    partstream.ERROR_TIMEOUT: 504,
    partstream.ERROR_UNAVAILABLE: 503,
}
PRINT_POLICY = {
    "default-src": [NONE],
    "img-src": [SELF, "data:"],
    "style-src": ["'unsafe-inline'"],
    "script-src": [NONE],
    "object-src": [NONE],
    "form-action": [NONE],
    "base-uri": [NONE],
    "frame-ancestors": [NONE],
}


def _message(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> tuple[MailAccount, Folder, Message]:
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, folder_id)
    return account, folder, reading.get_message(folder, uid)


def _failed(request: HttpRequest, error: partstream.PartError) -> HttpResponse:
    messages = {
        partstream.ERROR_MISSING: _("The message or attachment is no longer there."),
        partstream.ERROR_TIMEOUT: _("The mail server is slow to answer; try again."),
        partstream.ERROR_UNAVAILABLE: _(
            "The mail server cannot be reached; try again."
        ),
    }
    response = render(
        request,
        "webmail/part_error.html",
        {"message": messages.get(error.code, messages[partstream.ERROR_UNAVAILABLE])},
        status=STATUS.get(error.code, 503),
    )
    response["Cache-Control"] = "no-store"
    return response


def _guard(response: StreamingHttpResponse, disposition: str | None) -> None:
    if disposition:
        response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = PART_POLICY
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Accel-Buffering"] = "no"


def _streaming(
    chunks: AsyncIterator[bytes], content_type: str
) -> StreamingHttpResponse:
    return StreamingHttpResponse(_without_database(chunks), content_type=content_type)


async def _without_database(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    # A download lasts as long as its reader takes: it must not hold a
    # database connection (a slot of the process's pool) all that time.
    # Closed here, once the view and the middleware after it are done, in
    # the thread they ran in (as webmail/views/events.py does for event streams).
    await sync_to_async(connections.close_all)()
    async for chunk in chunks:
        yield chunk


def _part_name(info: dict[str, object]) -> str:
    name = str(info.get("filename") or "")
    if name:
        return safe_filename(name)
    return (
        f"part-{info.get('part', '')}.{parts.extension_for(str(info['content_type']))}"
    )


@streams
@require_GET
@login_required
def part_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int, part_id: str
) -> HttpResponseBase:
    """Download one part; ?inline=1 shows images, text and PDFs in the browser.

    ``part_id`` is an IMAP section, or a file inside a winmail.dat ("2~1").
    """
    account, folder, message = _message(request, account_id, folder_id, uid)
    if not _PART_ID.fullmatch(part_id):
        raise Http404("No such part.")
    try:
        stream = parts.open_stream(account.id, folder.id, message.uid, [part_id])
    except partstream.PartError as exc:
        return _failed(request, exc)
    info = stream.first
    name = _part_name(info)
    # Judged by the name as listed, as the reading pane's Preview link was.
    shown_as = parts.preview_type(str(info["content_type"]), name)
    inline = request.GET.get("inline") == "1" and shown_as is not None
    if inline and shown_as == "text/plain":
        charset = str(info.get("charset") or "")
        charset = charset if _CHARSET.fullmatch(charset) else "utf-8"
        content_type = f"text/plain; charset={charset}"
    elif inline and shown_as:
        content_type = shown_as
    else:
        content_type = "application/octet-stream"
    response = _streaming(stream.data(), content_type)
    _guard(response, content_disposition_header(not inline, name))
    if content_type == parts.PDF:
        response["Content-Security-Policy"] = PDF_POLICY
    return response


@streams
@require_GET
@login_required
def zip_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponseBase:
    """Download every attachment of a message as one zip file."""
    account, folder, message = _message(request, account_id, folder_id, uid)
    body = bodies.open_message(account, folder, message)
    if body.error:
        return _failed(
            request, partstream.PartError(partstream.ERROR_UNAVAILABLE, body.error)
        )
    files: dict[str, str] = {}
    for attachment in body.attachments:
        files.setdefault(attachment.part_id, attachment.filename)
    if not files:
        raise Http404("The message has no attachments.")
    names = dict(zip(files, unique_names(list(files.values())), strict=True))
    try:
        stream = parts.open_stream(account.id, folder.id, message.uid, list(files))
    except partstream.PartError as exc:
        return _failed(request, exc)
    response = _streaming(
        _zip(stream, names, message.date or message.internaldate), "application/zip"
    )
    title = safe_filename(message.subject or "", "attachments")
    _guard(response, content_disposition_header(True, f"{title}.zip"))
    return response


class _Chunks:
    """A write-only file for zipfile: keeps what was written until taken."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.pending = b"".join(self.pending), []
        return data


async def _zip(
    stream: parts.PartStream, names: dict[str, str], when: datetime | None
) -> AsyncIterator[bytes]:
    out = _Chunks()
    stamp = (when or datetime(1980, 1, 1)).timetuple()[:6]
    # Without seek() zipfile writes sizes after each file (data descriptors).
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
    entry = None
    # Closed at once with this generator, so the worker hears STOP.
    async with contextlib.aclosing(stream.elements()) as elements:
        async for kind, value in elements:
            if kind == "part":
                if entry is not None:
                    entry.close()
                info = zipfile.ZipInfo(names.get(value["part"], "attachment"), stamp)
                info.compress_type = zipfile.ZIP_DEFLATED
                entry = archive.open(info, "w", force_zip64=True)
            elif entry is not None:
                entry.write(value)
            data = out.take()
            if data:
                yield data
    if entry is not None:
        entry.close()
    archive.close()
    yield out.take()


def _raw_message(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> tuple[Message, AsyncIterator[bytes]] | HttpResponseBase:
    """Return the message and its raw bytes as a stream, or an error page."""
    account, folder, message = _message(request, account_id, folder_id, uid)
    try:
        stream = parts.open_stream(account.id, folder.id, message.uid, [""])
    except partstream.PartError as exc:
        return _failed(request, exc)
    return message, stream.data()


@streams
@require_GET
@login_required
def source_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponseBase:
    """Show the raw message as text, bytes that are not UTF-8 replaced."""
    raw = _raw_message(request, account_id, folder_id, uid)
    if isinstance(raw, HttpResponseBase):
        return raw
    response = _streaming(_as_text(raw[1]), "text/plain; charset=utf-8")
    _guard(response, None)
    return response


async def _as_text(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    # Incremental, so a character split between chunks is not replaced.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    async for chunk in chunks:
        yield decoder.decode(chunk).encode()
    yield decoder.decode(b"", final=True).encode()


@streams
@require_GET
@login_required
def eml_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponseBase:
    """Download the raw message as a .eml file named after its subject."""
    raw = _raw_message(request, account_id, folder_id, uid)
    if isinstance(raw, HttpResponseBase):
        return raw
    message, data = raw
    response = _streaming(data, "message/rfc822")
    name = safe_filename(message.subject or "", "message")
    _guard(response, content_disposition_header(True, f"{name}.eml"))
    return response


@require_GET
@login_required
@csp(PRINT_POLICY)  # type: ignore[arg-type]
def print_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """A page to print: the headers and the sanitized body, no scripts."""
    account, folder, message = _message(request, account_id, folder_id, uid)
    body = bodies.open_message(account, folder, message)
    view = present.message_view(account.id, folder.id, message)
    context = {
        "message": view,
        "html": body.html,
        "forwarded": attached.forwarded_views(view.url, body.forwarded),
        "error": body.error or "",
        "truncated": body.truncated,
        "attachments": body.attachments,
    }
    response = render(request, "webmail/print.html", context)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


@streams
@require_GET
def inline_part_view(
    request: HttpRequest, user_id: int, token: str
) -> HttpResponseBase:
    """Serve an inline image of a body to the sandboxed frame (no cookies).

    The signature is the credential: it verifies only with the salt of the
    user it was made for, and the account must still be that user's.
    """
    try:
        account_id, folder_id, uid, part_id = partlinks.unsign_part(user_id, token)
    except signing.BadSignature:
        raise Http404("No such part.") from None
    user = User.objects.filter(id=user_id, is_active=True).first()
    if user is None or not _PART_ID.fullmatch(part_id):
        raise Http404("No such part.")
    account = get_account_for_user(user, account_id)
    folder = reading.get_folder(account, folder_id)
    reading.get_message(folder, uid)
    try:
        stream = parts.open_stream(account.id, folder.id, uid, [part_id])
    except partstream.PartError as exc:
        return _failed(request, exc)
    content_type = str(stream.first["content_type"]).lower()
    if content_type not in parts.INLINE_IMAGES:
        stream.cancel()
        raise Http404("Not an image.")
    response = _streaming(stream.data(), content_type)
    _guard(response, None)
    response["Cache-Control"] = "private, max-age=86400"
    return response
