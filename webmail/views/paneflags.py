"""The open message's own buttons (star, read or unread), kept current.

The reading pane asks for them again when the event stream says the user's
mail changed (static/js/mail.js): a star or a read mark set in another tab
or on another device shows on the open message's buttons, without
reloading its text. Posting seen=1 marks the open message read.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from webmail.mail import changes, reading
from webmail.views import present
from webmail.views.layout import is_htmx


@require_http_methods(["GET", "POST"])
@login_required
def pane_flags_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Answer with the open message's star and read buttons, as cached now."""
    folder = reading.user_folder(request.user, account_id, folder_id)  # type: ignore[arg-type]
    account = folder.account
    try:
        message = reading.get_message(folder, uid)
    except Http404:
        if request.method != "GET":
            raise
        # Moved or deleted (here, in another tab or on another device): the
        # pane says so, and asks no more (its buttons would only fail).
        return render(request, "webmail/_pane_gone.html")
    context: dict[str, object] = {"account": account}
    if request.method == "POST" and request.POST.get("seen") == "1":
        if not message.seen:
            changes.mark_seen(account, folder, [uid])
            message.seen = True
        if not is_htmx(request):
            return redirect("mail_message", account.id, folder.id, uid)
        # The list's row, read now, follows out of band.
        context["row_oob"] = present.row_for(account.id, folder.id, message, True)
    context["message"] = present.message_view(account.id, folder.id, message)
    return render(request, "webmail/_pane_flags_answer.html", context)
