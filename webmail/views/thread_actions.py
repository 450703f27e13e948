"""Acting on one message of an open conversation: star, read, move, delete.

The same verbs as the reading pane's (webmail.mail.changes and .actions:
the cache and the outbox in one transaction), on whichever folder the
message is in; the answer is the conversation again, as it is now, with
its line in the list, and a notice of what was done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webmail.mail import actions, changes, conversations, ids, reading
from webmail.views import present
from webmail.views.bulk import folder_title
from webmail.views.conversations import conversation_context, conversation_pane
from webmail.views.layout import account_or_404, is_htmx, threads_layout

if TYPE_CHECKING:
    from accounts.models import MailAccount
    from webmail.models import Folder, Message


class Refused(ValueError):
    """An action the request cannot have: its text is shown to the user."""


def _act(
    request: HttpRequest, account: MailAccount, folder: Folder, message: Message
) -> str:
    """Apply the posted action ("do") to the message; return the notice."""
    do = request.POST.get("do", "")
    uid = message.uid
    if do in ("star", "unstar"):
        change = {"add" if do == "star" else "remove": ["\\Flagged"]}
        user = request.user
        changes.flag_message(user, account.id, folder.id, uid, **change)  # type: ignore[arg-type]
        return _("Starred.") if do == "star" else _("Unstarred.")
    if do in ("read", "unread"):
        changes.mark_seen(account, folder, [uid], seen=do == "read")
        return _("Marked read.") if do == "read" else _("Marked unread.")
    if do == "archive":
        if not actions.archive_messages(account, folder, [uid]):
            raise Refused(_("There is no Archive folder to move it to."))
        return _("Archived.")
    if do == "move":
        target = reading.get_folder(account, ids.parse_id(request.POST.get("target")))
        try:
            changes.move_messages(account, folder, [uid], target)
        except ValueError as exc:
            raise Refused(str(exc)) from None
        return _("Moved to %(folder)s.") % {"folder": folder_title(target)}
    if do == "delete":
        if not actions.deletes_for_good(account, folder):
            changes.delete_messages(account, folder, [uid])
            return _("Moved to the trash.")
        if request.POST.get("confirm") != "1":
            raise Refused(_("Deleting this message is for good: confirm it first."))
        changes.delete_forever(account, folder, [uid])
        return _("Deleted for good.")
    raise Refused(_("That action is not one this page offers."))


@require_POST
@login_required
def conversation_act_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Act on a message of a conversation; show the conversation again.

    "in": the folder whose list the conversation was opened from.
    """
    account = account_or_404(request, account_id)
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    shown = reading.get_folder(account, ids.parse_id(request.POST.get("in")))
    try:
        notice = _act(request, account, folder, message)
    except Refused as exc:
        # Said in the status line (static/js/mail.js).
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    messages = conversations.conversation(account, message.thread_key, shown)
    line = conversations.line_of(account, shown, messages)
    if line is None:
        # Nothing of the thread is left in the list it was opened from.
        if not is_htmx(request):
            url = present.folder_url(account.id, shown.id)
            return redirect(f"{url}?view=threads")
        context = threads_layout(request, account, shown)
        context["notice"] = notice
        response = render(request, "webmail/_content.html", context)
        response["HX-Retarget"] = "#app"
        response["HX-Reswap"] = "innerHTML"
        response["HX-Push-Url"] = context["refresh_url"]
        return response
    if not is_htmx(request):
        return redirect("mail_conversation", account.id, shown.id, line.uid)
    context = conversation_context(account, shown, messages)
    context["conversation_notice"] = notice
    return conversation_pane(request, account, shown, messages, context)
