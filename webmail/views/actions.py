"""The reading pane's actions on its message: unread, move, archive, spam, delete.

Each goes through the verbs (the cache and the outbox in one transaction).
After the message leaves the folder the next one opens (older, else newer),
with a notice saying what was done. A delete that would destroy the message
(in Trash or Junk) first asks, naming what is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from webmail.mail import actions, bulk, changes, ids, reading, undo
from webmail.views import present
from webmail.views.bulk import folder_title, undo_url
from webmail.views.layout import account_or_404, is_htmx, layout
from webmail.views.mailbox import message_page, next_message_answer

if TYPE_CHECKING:
    from accounts.models import MailAccount
    from webmail.models import Folder, Message

Remover = Callable[["MailAccount", "Folder", list[int]], int]


def _message(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> tuple[MailAccount, Folder, Message]:
    account = account_or_404(request, account_id)
    folder = reading.get_folder(account, folder_id)
    return account, folder, reading.get_message(folder, uid)


def _after(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    gone: int,
    following: Message | None,
    notice: str,
    undo_id: int | None = None,
) -> HttpResponse:
    """Answer an action that took the message (UID gone) out of the folder.

    The next message opens; with none left, the folder's list shows. The
    notice offers Undo when undo_id names the action.
    """
    undo_link = undo_url(account.id, undo_id)
    if following is not None:
        if not is_htmx(request):
            return redirect("mail_message", account.id, folder.id, following.uid)
        return next_message_answer(
            request, account, folder, following, gone, notice, undo_link
        )
    if not is_htmx(request):
        return redirect("mail_folder", account.id, folder.id)
    context = layout(request, account, folder)
    context["notice"] = notice
    context["undo_url"] = undo_link
    response = render(request, "webmail/_content.html", context)
    response["HX-Push-Url"] = context["refresh_url"]
    return response


def _remove(
    request: HttpRequest,
    opened: tuple[MailAccount, Folder, Message],
    remove: Remover,
    notice: Callable[[], str],
    verb: str = "move",
) -> HttpResponse:
    """Take the open message (_message()) out of its folder; open the next."""
    account, folder, message = opened
    following = actions.next_message(folder, message)
    with undo.undoable(account, verb) as offer:
        removed = remove(account, folder, [message.uid])
    if not removed:
        # Nowhere to go (no Archive or Junk folder): the message stays open.
        return message_page(request, account, folder, message)
    return _after(request, account, folder, message.uid, following, notice(), offer.id)


@require_POST
@login_required
def unread_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Mark the message unread and go back to the list."""
    account, folder, _message_row = _message(request, account_id, folder_id, uid)
    changes.mark_seen(account, folder, [uid], seen=False)
    if not is_htmx(request):
        return redirect("mail_folder", account.id, folder.id)
    context = layout(request, account, folder)
    context["notice"] = _("Marked unread.")
    response = render(request, "webmail/_content.html", context)
    response["HX-Push-Url"] = context["refresh_url"]
    return response


@require_POST
@login_required
def move_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Move the message to the folder named by "target"; open the next one."""
    opened = _message(request, account_id, folder_id, uid)
    # Another account's folder (another user's too) is a 404, like any id.
    target = reading.get_folder(opened[0], ids.parse_id(request.POST.get("target", "")))

    def move(account: MailAccount, folder: Folder, uids: list[int]) -> int:
        return changes.move_messages(account, folder, uids, target)

    def notice() -> str:
        return _("Moved to %(folder)s.") % {"folder": folder_title(target)}

    return _remove(request, opened, move, notice)


# The pane's buttons that send the message to a folder of a special use:
# what each does, and the notice that says it was done.
_SENDS: dict[str, tuple[Remover, Callable[[], str]]] = {
    "archive": (actions.archive_messages, lambda: _("Archived.")),
    "spam": (actions.report_spam, lambda: _("Reported as spam.")),
    "not-spam": (actions.not_spam, lambda: _("Not spam: moved to the inbox.")),
}


@require_POST
@login_required
def send_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int, to: str
) -> HttpResponse:
    """Move the message to Archive, to Junk, or from Junk back to the inbox
    (to: a key of _SENDS, given by the URL); open the next one.
    """
    remove, notice = _SENDS[to]
    return _remove(
        request, _message(request, account_id, folder_id, uid), remove, notice
    )


@require_POST
@login_required
def delete_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Move the message to Trash; in Trash or Junk, delete it for good once
    the user has confirmed (confirm=1). Then open the next message.
    """
    account, folder, message = _message(request, account_id, folder_id, uid)
    if actions.deletes_for_good(account, folder):
        if request.POST.get("confirm") != "1":
            context = {
                "account": account,
                "message": present.message_view(account.id, folder.id, message),
                "folder_title": folder_title(folder),
            }
            if is_htmx(request):
                response = render(request, "webmail/_delete_confirm.html", context)
                response["HX-Retarget"] = "#reader"
                response["HX-Reswap"] = "innerHTML"
                return response
            return render(request, "webmail/message_delete.html", context)
        following = actions.next_message(folder, message)
        changes.delete_forever(account, folder, [uid])
        notice = _("Deleted for good.")
        return _after(request, account, folder, uid, following, notice)
    return _remove(
        request,
        (account, folder, message),
        changes.delete_messages,
        lambda: _("Moved to the trash."),
        "delete",
    )


@require_http_methods(["GET", "POST"])
@login_required
def empty_view(request: HttpRequest, account_id: int, folder_id: int) -> HttpResponse:
    """Ask whether to empty Trash or Junk, saying how many messages go; do it."""
    account = account_or_404(request, account_id)
    folder = reading.get_folder(account, folder_id)
    if not actions.is_bin(folder):
        raise Http404("Only Trash and Junk can be emptied.")
    if request.method == "POST":
        actions.empty_folder(account, folder)
        return redirect("mail_folder", account.id, folder.id)
    context = {
        "account": account,
        "folder": folder,
        "folder_title": folder_title(folder),
        "count": bulk.folder_count(folder),
        "folder_url": present.folder_url(account.id, folder.id),
    }
    return render(request, "webmail/folder_empty.html", context)
