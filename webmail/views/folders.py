"""The folder management page: create, rename, move, delete, subscribe.

Every folder of the account is listed, subscribed or not, in the
sidebar's order. Each change is one POST to one verb of webmail.mail.folders;
a refused name shows the page again with the reason and what was typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import MailAccount
from webmail.mail import folders as verbs
from webmail.mail import ids
from webmail.views import present
from webmail.views.layout import account_or_404, is_htmx

if TYPE_CHECKING:
    from webmail.models import Folder


def problem_text(code: str) -> str:
    """Return the reason for a refused folder name, in the reader's language."""
    texts = {
        "empty": _("Type a name for the folder."),
        "delimiter": _("A folder name cannot contain the character “%(char)s”."),
        "characters": _("The name has characters that folder names cannot have."),
        "exists": _("A folder with this name exists already there."),
        "inbox": _("The inbox cannot be renamed, moved or deleted."),
        "into_itself": _("A folder cannot be moved into itself or its subfolders."),
    }
    return texts.get(code, texts["characters"])


def _rows(account: MailAccount) -> list[dict[str, Any]]:
    """Return the page's folder lines: tree order, with subscriptions."""
    rows = verbs.all_folders(account)
    by_id = {row.id: row for row in rows}
    lines = []
    for node in present.folder_nodes(account.id, rows):
        row = by_id[node.id]
        lines.append(
            {
                "node": node,
                "id": node.id,
                "subscribed": row.subscribed,
                "inbox": row.name.upper() == "INBOX",
                "parent_id": row.parent_id,
                "messages": row.total,
                "selectable": row.selectable,
            }
        )
    return lines


def _page(
    request: HttpRequest,
    account: MailAccount,
    *,
    error: str = "",
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    titles = present.special_titles()
    context = {
        "account": account,
        "rows": _rows(account),
        "missing": verbs.missing_special_folders(account),
        "uses": [
            {
                "use": use,
                "field": name.lower(),
                "title": titles[name.lower()],
                "folder_id": folder_id,
            }
            for use, name, folder_id in verbs.special_choices(account)
        ],
        "error": error,
        "typed": typed or {},
    }
    return render(request, "webmail/folders.html", context, status=status)


def _refused(
    request: HttpRequest, account: MailAccount, exc: verbs.BadFolderName, **typed: Any
) -> HttpResponse:
    text = problem_text(exc.code)
    if exc.code == "delimiter":
        text = text % {"char": verbs.delimiter_of(account)}
    # htmx swaps only a success; a plain form post gets the honest status.
    status = 200 if is_htmx(request) else 400
    return _page(request, account, error=text, typed=typed, status=status)


def _parent_id(request: HttpRequest) -> int | None:
    value = request.POST.get("parent", "")
    return int(value) if value.isdigit() else None


@require_GET
@login_required
def folders_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """List every folder with what can be done to it."""
    return _page(request, account_or_404(request, account_id))


@require_POST
@login_required
def create_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Create a folder at the top or under another."""
    account = account_or_404(request, account_id)
    name, parent = request.POST.get("name", ""), _parent_id(request)
    try:
        folder = verbs.create_folder(account, name, parent)
    except verbs.BadFolderName as exc:
        return _refused(request, account, exc, new_name=name, new_parent=parent)
    messages.success(request, _("Folder “%s” created.") % folder.display_name)
    return redirect("mail_folders", account.id)


@require_POST
@login_required
def rename_view(request: HttpRequest, account_id: int, folder_id: int) -> HttpResponse:
    """Rename a folder, or move it under another (or to the top)."""
    account = account_or_404(request, account_id)
    folder = verbs.account_folder(account, folder_id)
    name, parent = request.POST.get("name", ""), _parent_id(request)
    try:
        verbs.rename_folder(account, folder, name, parent)
    except verbs.BadFolderName as exc:
        return _refused(request, account, exc, id=folder.id, name=name, parent=parent)
    messages.success(request, _("Folder saved."))
    return redirect("mail_folders", account.id)


@require_http_methods(["GET", "POST"])
@login_required
def delete_view(request: HttpRequest, account_id: int, folder_id: int) -> HttpResponse:
    """Ask whether to delete a folder and how many messages go with it; do it."""
    account = account_or_404(request, account_id)
    folder: Folder = verbs.account_folder(account, folder_id)
    if request.method == "POST":
        try:
            verbs.delete_folder(account, folder)
        except verbs.BadFolderName as exc:
            return _refused(request, account, exc)
        messages.success(request, _("Folder “%s” deleted.") % folder.display_name)
        return redirect("mail_folders", account.id)
    below = verbs.folder_and_below(folder)
    context = {
        "account": account,
        "folder": folder,
        "count": verbs.messages_in(folder),
        "subfolders": len(below) - 1,
        "inbox": folder.name.upper() == "INBOX",
    }
    return render(request, "webmail/folder_delete.html", context)


@require_POST
@login_required
def subscribe_view(
    request: HttpRequest, account_id: int, folder_id: int
) -> HttpResponse:
    """Subscribe to a folder (subscribed=1) or unsubscribe (subscribed=0)."""
    account = account_or_404(request, account_id)
    folder = verbs.account_folder(account, folder_id)
    verbs.set_subscribed(account, folder, request.POST.get("subscribed") == "1")
    return redirect("mail_folders", account.id)


@require_POST
@login_required
def special_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Create the special folders (Drafts, Sent, Trash, ...) the account lacks."""
    account = account_or_404(request, account_id)
    made = verbs.create_special_folders(account)
    if made:
        messages.success(request, _("Created: %s.") % ", ".join(made))
    return redirect("mail_folders", account.id)


@require_POST
@login_required
def uses_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Pick the folders used as Drafts, Sent, Trash, Junk and Archive."""
    account = account_or_404(request, account_id)
    chosen: dict[str, int | None] = {}
    for use, name, _folder_id in verbs.special_choices(account):
        value = request.POST.get(name.lower())
        if value is None:
            continue
        # An impossible id is a 400 that says which value was wrong.
        chosen[use] = ids.parse_id(value) if value else None
    verbs.choose_special_folders(account, chosen)
    messages.success(request, _("Special folders saved."))
    return redirect("mail_folders", account.id)
