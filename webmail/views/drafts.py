"""Autosave of the compose page (static/js/drafts.js): JSON in, JSON out.

POST /mail/<account>/drafts/ makes a draft from the form's fields;
POST /mail/<account>/drafts/<draft> saves its next version (``version``:
the one the tab knows; ``force``: overwrite a later one) and GET there
says whether the last version is on the server yet, or why not.

A signed-out request gets 401 rather than the sign-in page, so that the
page knows to keep the text in the browser (the session ended while the
user was writing).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from webmail.mail import drafts
from webmail.views.layout import account_or_404

View = Callable[..., HttpResponse]


def _signed_in(view: View) -> View:
    @wraps(view)
    def check(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            message = _("Your session has ended. Sign in again to save this draft.")
            return JsonResponse({"signed_out": True, "error": message}, status=401)
        return view(request, *args, **kwargs)

    return check


def _version(request: HttpRequest) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


def _save(request: HttpRequest, account_id: int, draft_id: int | None) -> HttpResponse:
    account = account_or_404(request, account_id)
    fields = {name: request.POST.get(name, "") for name in drafts.FIELDS}
    for name in drafts.THREADING:
        fields[name] = request.POST.get(name, "")
    force = request.POST.get("force") == "1"
    saved = drafts.save(account, draft_id, fields, _version(request), force)
    url = reverse("mail_draft", args=[account.id, saved.draft_id])
    answer: dict[str, Any] = {
        "id": saved.draft_id,
        "version": saved.version,
        "url": url,
    }
    if saved.gone:
        answer["error"] = _("This draft was sent or deleted in another window.")
        return JsonResponse({**answer, "gone": True}, status=410)
    if saved.conflict:
        answer["error"] = _(
            "This draft was changed in another window or on another device"
            " since you opened it."
        )
        return JsonResponse({**answer, "conflict": True}, status=409)
    return JsonResponse(answer)


@_signed_in
@require_POST
def new_draft_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Make a draft of what the form holds."""
    return _save(request, account_id, None)


@_signed_in
@require_http_methods(["GET", "POST"])
def draft_view(request: HttpRequest, account_id: int, draft_id: int) -> HttpResponse:
    """Save the draft's next version (POST), or say how its saving went (GET)."""
    if request.method == "POST":
        return _save(request, account_id, draft_id)
    account = account_or_404(request, account_id)
    return JsonResponse(drafts.state_of(drafts.draft_for(account, draft_id)))
