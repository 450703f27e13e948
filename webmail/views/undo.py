"""Undo: the notice of an action offers it, and every tab of the user can take it.

POST undoes the action (webmail.mail.undo) and answers with the notice
that says so; GET is the notice itself, with its Undo button while there
is time, for the user's other tabs, which hear of the action as an event.
"""

from __future__ import annotations

import math

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from webmail.mail import undo
from webmail.views.bulk import done_text, undo_url
from webmail.views.layout import account_or_404, is_htmx


@require_http_methods(["GET", "POST"])
@login_required
def undo_view(request: HttpRequest, account_id: int, action_id: int) -> HttpResponse:
    """Show the action's notice (GET), or undo the action (POST)."""
    account = account_or_404(request, account_id)
    if request.method == "GET":
        action = undo.get_action(account, action_id)
        left = undo.open_until(action)
        if not left:
            return HttpResponse("")
        verb = "delete" if action.verb == "delete" else "move"
        context = {
            "notice": done_text(verb, action.count, action.target),
            "undo_url": undo_url(account.id, action.id),
            # A tab that hears of the action late shows it only for the
            # time left to undo it, not for a whole UNDO_SECONDS more.
            "seconds": math.ceil(left),
        }
        return render(request, "webmail/_notice.html", context)
    try:
        done = undo.undo(account, action_id)
    except undo.TooLate as refusal:
        if refusal.already:
            text = _("That was undone already.")
        else:
            text = _("It is too late to undo that.")
    else:
        text = ngettext(
            "Undone: %(count)d message is back where it was.",
            "Undone: %(count)d messages are back where they were.",
            done.count,
        ) % {"count": done.count}
    if not is_htmx(request):
        return redirect("mail_account", account.id)
    response = render(request, "webmail/_notice.html", {"notice": text})
    # The page re-reads its list at once, before the event stream says so.
    response["HX-Trigger"] = "webmail-undone"
    return response
