"""Attachments of the message being written: uploads in chunks, as JSON.

POST /mail/<account>/compose/uploads/ announces a file (key: the form's
key, name, type, size) and answers its URL and the chunk size, or why it
is refused. POST to that URL with ?offset=N sends the bytes from N on
(the request body, any type); GET says how many arrived, so that an upload
cut off halfway goes on from there; DELETE removes it.
(static/js/attachments.js drives them; webmail.mail.uploads holds the rules.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from webmail.mail import drafts, uploads
from webmail.views.layout import account_or_404

if TYPE_CHECKING:
    from webmail.models import Upload


def _state(upload: Upload, **extra: Any) -> dict[str, Any]:
    return {
        "id": upload.id,
        "received": upload.received,
        "size": upload.size,
        "complete": upload.complete,
        **extra,
    }


@login_required
@require_POST
def upload_start_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Record a file about to come in chunks."""
    account = account_or_404(request, account_id)
    size = request.POST.get("size", "")
    if not size.isdigit():
        return JsonResponse({"error": _("The file's size is missing.")}, status=400)
    kept = request.POST.get("kept", "")
    try:
        upload = uploads.start_upload(
            account,
            request.POST.get("key", ""),
            request.POST.get("name", ""),
            request.POST.get("type", ""),
            int(size),
            kept=int(kept) if kept.isdigit() else 0,
        )
    except uploads.UploadRefused as exc:
        return JsonResponse({"error": str(exc)}, status=413)
    url = reverse("mail_upload", args=[account.id, upload.id])
    return JsonResponse(
        _state(upload, url=url, chunk=settings.COMPOSE_UPLOAD_CHUNK), status=201
    )


@login_required
@require_http_methods(["GET", "POST", "DELETE"])
def upload_view(request: HttpRequest, account_id: int, upload_id: int) -> HttpResponse:
    """Receive one chunk (POST), say how far it got (GET), or remove it."""
    account = account_or_404(request, account_id)
    upload = uploads.upload_for(account, upload_id)
    if request.method == "DELETE":
        uploads.remove_upload(upload)
        return HttpResponse(status=204)
    if request.method == "GET":
        return JsonResponse(_state(upload))
    offset = request.GET.get("offset", "")
    length = request.META.get("CONTENT_LENGTH") or ""
    if not (offset.isdigit() and str(length).isdigit()):
        return JsonResponse(_state(upload, error=_("Bad chunk.")), status=400)
    try:
        uploads.receive_chunk(upload, int(offset), request.read, int(length))
    except uploads.WrongOffset as exc:
        upload.received = exc.received
        return JsonResponse(_state(upload), status=409)
    except uploads.UploadRefused as exc:
        return JsonResponse(_state(upload, error=str(exc)), status=400)
    return JsonResponse(_state(upload))


# The compose form's part --------------------------------------------------------


@dataclass(frozen=True)
class PostedFiles:
    """The files a posted compose form names, and what is wrong with them."""

    uploads: list[Upload]
    forward_parts: list[str]
    errors: list[str]
    # Files of the draft's copy in Drafts, for the worker to fetch.
    draft_files: list[str]


def posted_files(request: HttpRequest, account: Any, forwarding: bool) -> PostedFiles:
    """The uploads, forwarded parts and draft's files the form sends, checked.

    A file of the draft that is still an upload on disk goes as an upload.
    """
    ids = [int(v) for v in request.POST.getlist("upload") if v.isdigit()]
    keys = list(dict.fromkeys(request.POST.getlist("draft_file")))
    ids += [int(k[1:]) for k in keys if k[:1] == "u" and k[1:].isdigit()]
    files = uploads.uploads_of_form(account, list(dict.fromkeys(ids)))
    taken = {f"u{upload.id}" for upload in files}
    kept = request.POST.getlist("forward_part") if forwarding else []
    return PostedFiles(
        files,
        uploads.forward_sections(kept),
        uploads.problems(account, files),
        [key for key in keys if key not in taken],
    )


def _listed(value: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(value)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [
        {
            "part_id": str(item.get("part_id", "")),
            "filename": str(item.get("filename", "")),
            "size": int(item.get("size") or 0),
        }
        for item in items
        if isinstance(item, dict)
    ]


def form_context(
    request: HttpRequest,
    account: Any,
    forwarded: Sequence[Any] = (),
    draft_files: Sequence[drafts.DraftFile] = (),
) -> dict[str, Any]:
    """What the form's attachment section shows: on a new form the forwarded
    message's files (all kept) or the opened draft's, on a form sent back
    what it held."""
    if request.method == "POST":
        draft = request.POST.get("draft", "")
        draft_files = drafts.posted_files(
            account,
            int(draft) if draft.isdigit() else None,
            request.POST.getlist("draft_file"),
        )
        listed = _listed(request.POST.get("forward_listed", ""))
        kept = set(request.POST.getlist("forward_part"))
        ids = [int(v) for v in request.POST.getlist("upload") if v.isdigit()]
        files = uploads.uploads_of_form(account, ids)
        key = request.POST.get("upload_key", "")[:64]
    else:
        listed = [
            {"part_id": a.part_id, "filename": a.filename, "size": a.size}
            for a in forwarded
        ]
        kept = {item["part_id"] for item in listed}
        files, key = [], uploads.new_form_key()
    return {
        "forward_listed": json.dumps(listed),
        "forward_files": [{**item, "kept": item["part_id"] in kept} for item in listed],
        "uploads": files,
        "draft_files": draft_files,
        "upload_key": key,
        "upload_start_url": reverse("mail_upload_start", args=[account.id]),
        "upload_limit": uploads.limit_for(account).size,
    }
