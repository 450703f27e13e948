"""Acting on the selected messages of a list: read, unread, star, move, delete.

A folder's list names its rows by UID (bulk_view); search results, which
mix folders, by message id (search_bulk_view).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import MailAccount
from webmail.mail import actions, bulk, ids, reading, search, undo
from webmail.views import present
from webmail.views.layout import account_or_404, is_htmx, layout
from webmail.views.search import results_context

if TYPE_CHECKING:
    from webmail.models import Folder


def done_text(action: str, count: int, target: Folder | None) -> str:
    """Return the status line after an action on count messages."""
    if count == 0:
        return _("No messages needed changing.")
    if action == "read":
        text = ngettext(
            "%(count)d message marked read.", "%(count)d messages marked read.", count
        )
    elif action == "unread":
        text = ngettext(
            "%(count)d message marked unread.",
            "%(count)d messages marked unread.",
            count,
        )
    elif action == "star":
        text = ngettext(
            "%(count)d message starred.", "%(count)d messages starred.", count
        )
    elif action == "unstar":
        text = ngettext(
            "%(count)d message unstarred.", "%(count)d messages unstarred.", count
        )
    elif action == "move":
        text = ngettext(
            "%(count)d message moved to %(folder)s.",
            "%(count)d messages moved to %(folder)s.",
            count,
        )
    elif action == "copy":
        text = ngettext(
            "%(count)d message copied to %(folder)s.",
            "%(count)d messages copied to %(folder)s.",
            count,
        )
    else:
        text = ngettext(
            "%(count)d message deleted.", "%(count)d messages deleted.", count
        )
    folder = folder_title(target) if target is not None else ""
    return text % {"count": count, "folder": folder}


def undo_url(account_id: int, action_id: int | None) -> str:
    """Return the URL of an action's Undo, or "" when there is nothing to undo."""
    if action_id is None:
        return ""
    return reverse("mail_undo", args=[account_id, action_id])


def folder_title(folder: Folder) -> str:
    """Return a folder's name as the folder list shows it ("Archive", "Beta")."""
    nodes = present.folder_nodes(folder.account_id, [folder])
    return next((n.title for n in nodes if n.id == folder.id), folder.display_name)


def _uids(request: HttpRequest) -> list[int]:
    """Return the selected rows' UIDs; a value no UID can have is a 400."""
    return ids.parse_uids(request.POST.getlist("uid"))


def _message_ids(request: HttpRequest) -> list[int]:
    """Return the selected search results' ids; an impossible one is a 400."""
    return ids.parse_ids(request.POST.getlist("message"))


def _target(request: HttpRequest, account: MailAccount) -> Folder | None:
    value = request.POST.get("target", "")
    if not value:
        return None
    # Another account's folder (another user's too) is a 404, like any id.
    return reading.get_folder(account, ids.parse_id(value))


def _problem(request: HttpRequest, selected: list[int]) -> str:
    """Return why the request cannot be carried out, or ""."""
    if request.POST.get("action") not in bulk.ACTIONS:
        return _("Pick an action for the selected messages.")
    if request.POST.get("all") != "1" and not selected:
        return _("Select some messages first.")
    if request.POST.get("action") == "move" and not request.POST.get("target"):
        return _("Pick a folder to move the messages to.")
    if request.POST.get("action") == "copy" and not request.POST.get("target"):
        return _("Pick a folder to copy the messages to.")
    return ""


def _unusable(target: Folder | None) -> str:
    if target is not None and not target.selectable:
        return _("“%(folder)s” cannot hold messages.") % {
            "folder": folder_title(target)
        }
    return ""


# Actions that take the rows out of the list.
ROWS_LEAVE = ("move", "delete")


def _rows_gone(
    request: HttpRequest, uids: list[int], status: str, undo_link: str
) -> HttpResponse:
    """Answer a move of selected rows with only what changed on the page.

    The rows go and the notice says so at once; the page then asks for its
    list again (webmail-moved), to fill the page and the folders' counts.
    Redrawing the list here would cost the answer more than the move itself.
    """
    context = {"gone": uids, "bulk_status": status, "undo_url": undo_link}
    response = render(request, "webmail/_bulk_gone.html", context)
    response["HX-Reswap"] = "none"
    response["HX-Trigger"] = "webmail-moved"
    return response


@require_POST
@login_required
def bulk_view(request: HttpRequest, account_id: int, folder_id: int) -> HttpResponse:
    """Apply an action to the selected messages (or all of the folder's)."""
    # The folder and its account in one query: a move answers in milliseconds.
    folder = reading.user_folder(request.user, account_id, folder_id)  # type: ignore[arg-type]
    account = folder.account
    target = _target(request, account)
    selected = _uids(request)
    action = request.POST.get("action", "")
    status = _unusable(target) or _problem(request, selected)
    offer = undo.Offer()
    count = 0
    if not status:
        uids = None if request.POST.get("all") == "1" else selected
        # A selection is one transaction; a whole folder goes in chunks.
        with undo.undoable(account, action, together=uids is not None) as offer:
            count = bulk.apply(account, folder, action, uids, target)
        trash = None
        if action == "delete":
            trash = reading.special_folder(account, "\\Trash")
        if trash is not None and not actions.is_bin(folder):
            # Said as it is: the mail can be found again in Trash.
            status = done_text("move", count, trash)
        else:
            status = done_text(action, count, target)
    folder_url = present.folder_url(account.id, folder.id)
    back = request.POST.get("back", "")
    if not back.startswith(folder_url):
        back = folder_url
    if not is_htmx(request):
        return redirect(back)
    if count and action in ROWS_LEAVE and request.POST.get("all") != "1":
        return _rows_gone(request, selected, status, undo_url(account.id, offer.id))
    # The refreshed list keeps the order and page it was showing.
    request.GET = QueryDict(urlsplit(back).query)
    context = layout(request, account, folder)
    context["folders_oob"] = True
    context["bulk_status"] = status
    context["undo_url"] = undo_url(account.id, offer.id)
    return render(request, "webmail/_bulk_done.html", context)


@require_POST
@login_required
def search_bulk_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Apply an action to selected search results, in any of the folders.

    The rows are named by message id ("message"); all=1 means every result of
    the search that the page "back" shows. Ids of other accounts' messages
    are left out.
    """
    account = account_or_404(request, account_id)
    target = _target(request, account)
    selected = _message_ids(request)
    action = request.POST.get("action", "")
    search_url = reverse("mail_search", args=[account.id])
    back = request.POST.get("back", "")
    if not back.startswith(f"{search_url}?"):
        back = ""
    params = QueryDict(urlsplit(back).query)
    status = _unusable(target) or _problem(request, selected)
    if not status and request.POST.get("all") == "1":
        query, errors = search.parse_query(params)
        if not back or errors or query.empty:
            status = _(
                "The selection could not be read. Reload the page and try again."
            )
        else:
            selected, status = search.result_ids(account, query)
    offer = undo.Offer()
    if not status:
        with undo.undoable(account, action) as offer:
            count = bulk.apply_to_ids(account, selected, action, target)
        status = done_text(action, count, target)
    if not is_htmx(request):
        return redirect(back or search_url)
    # The same page of results again, from the hits already found.
    context = results_context(account, params, reuse=True)
    context["folders_oob"] = True
    context["bulk_status"] = status
    context["undo_url"] = undo_url(account.id, offer.id)
    return render(request, "webmail/_bulk_done.html", context)
