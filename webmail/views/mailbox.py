"""The mailbox pages: a folder's message list and an open message.

Every folder and message has its own URL. A full page load renders the
whole layout; htmx requests get only the part they swap (the reading pane
for a message, the folders, list and pane for a folder), so navigation is
quick and the back button, new tabs and bookmarks still work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from accounts import preferences
from accounts.access import accounts_for_user, get_account_for_user, pick_account
from accounts.models import MailAccount, MarkRead
from webmail import bulk, mailbox
from webmail.conversations import list_conversations as conversations_list
from webmail.models import Folder, Message
from webmail.views import present, remote

PAGE_SIZE = 50


def _account(request: HttpRequest, account_id: int) -> MailAccount:
    return get_account_for_user(request.user, account_id)  # type: ignore[arg-type]


def _inbox(account: MailAccount) -> Folder | None:
    folders = [folder for folder in mailbox.folders(account) if folder.selectable]
    return folders[0] if folders else None


def _is_htmx(request: HttpRequest) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _optional_url(name: str, **query: Any) -> str:
    """Return the URL of a page that another part of the app may not have yet."""
    try:
        base = reverse(name)
    except NoReverseMatch:
        return ""
    return f"{base}?{urlencode(query)}" if query else base


SORT_CHOICES = (
    ("date", _("Date")),
    ("from", _("Sender")),
    ("subject", _("Subject")),
    ("size", _("Size")),
)
FIELD_CHOICES = (
    ("text", _("Anywhere")),
    ("from", _("From")),
    ("to", _("To")),
    ("subject", _("Subject")),
    ("body", _("Message text")),
)


@dataclass
class Loaded:
    """What a page view has already read: the user's accounts, the folders."""

    accounts: list[MailAccount]
    folders: list[Folder]


def frame(
    account: MailAccount, folder: Folder | None, loaded: Loaded | None = None
) -> dict[str, Any]:
    """Return what every list page shows around its list: folders, state."""
    folders = loaded.folders if loaded else mailbox.folders(account)
    nodes = present.folder_nodes(account.id, folders)
    current = None
    if folder is not None:
        current = next((node for node in nodes if node.id == folder.id), None)
        if current is None:
            current = present.folder_nodes(account.id, [folder])[0]
    accounts = loaded.accounts if loaded else accounts_for_user(account.user_id)
    this = next((other for other in accounts if other.id == account.id), account)
    return {
        "account": account,
        "accounts": accounts,
        "folders": nodes,
        "folder": current,
        "search_url": present.cached_reverse("mail_search", account.id),
        "field_choices": FIELD_CHOICES,
        "scope_folders": [node for node in nodes if node.folder.selectable],
        "account_error": mailbox.state_error(this),
        "failures": mailbox.failed_operations(account),
    }


def _layout(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    current_uid: int | None = None,
    loaded: Loaded | None = None,
) -> dict[str, Any]:
    """Return the context of the whole layout: folders, list and pane."""
    query = request.GET.get("q", "").strip()[:200]
    sort = request.GET.get("sort", "date")
    if sort not in mailbox.SORTS:
        sort = "date"
    descending = mailbox.sort_descending(sort, request.GET.get("dir", ""))
    if request.GET.get("view") == "threads" and not query:
        return _threads_layout(request, account, folder, loaded)
    page = mailbox.list_messages(
        account,
        folder,
        query=query,
        before=request.GET.get("before", ""),
        limit=PAGE_SIZE,
        sort=sort,
        descending=descending,
    )
    context = frame(account, folder, loaded)
    folder_url = context["folder"].url
    # The list's own parameters, kept by its links and its refreshes.
    params: dict[str, str] = {"q": query} if query else {}
    if sort != "date":
        params["sort"] = sort
    if descending != mailbox.sort_descending(sort, ""):
        params["dir"] = "desc" if descending else "asc"
    older_url = ""
    if page.next_before:
        older_url = f"{folder_url}?{urlencode({**params, 'before': page.next_before})}"
    context.update(
        {
            "folder_url": folder_url,
            "refresh_url": f"{folder_url}?{urlencode(params)}"
            if params
            else folder_url,
            "messages_rows": present.message_rows(
                account.id, folder.id, page.messages, current_uid
            ),
            "older_url": older_url,
            "query": query,
            "sort": sort,
            "sort_dir": "desc" if descending else "asc",
            "sort_choices": SORT_CHOICES,
            "syncing": not folder.complete,
            "events_url": _optional_url("events", account=account.id, folder=folder.id),
            "threads_url": f"{folder_url}?view=threads",
            # What the shared templates ask of other pages: a name missing
            # from the context costs the template an exception each time.
            **LIST_PAGE_DEFAULTS,
        }
    )
    context.update(selection_context(account, folder, bool(older_url)))
    return context


LIST_PAGE_DEFAULTS = {
    "folders_oob": False,
    "message": None,
    "conversation": None,
    "threads": None,
    "threads_view": False,
    "oob": False,
    "search": None,
    "search_errors": (),
    "search_error": "",
    "search_note": "",
}


def selection_context(
    account: MailAccount, folder: Folder, more_pages: bool
) -> dict[str, Any]:
    """Return what the selection's toolbar needs: its URL, the move targets."""
    count = 0
    if more_pages:
        # Once the cache holds the whole folder, the server's count says how
        # many there are without counting 100,000 rows on every page view.
        count = folder.total if folder.complete and folder.total else 0
        count = count or bulk.folder_count(folder)
    return {
        "bulk_url": present.cached_reverse("mail_bulk", account.id, folder.id),
        # "Select all N in this folder" is offered when the page is not all.
        "folder_count": count,
    }


def _threads_layout(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    loaded: Loaded | None = None,
) -> dict[str, Any]:
    """Return the layout's context with the list grouped by conversation."""
    from webmail.views.conversations import rows

    page = conversations_list(account, folder, before=request.GET.get("before", ""))
    context = frame(account, folder, loaded)
    folder_url = present.folder_url(account.id, folder.id)
    own_url = f"{folder_url}?view=threads"
    older_url = ""
    if page.next_before:
        query = urlencode({"view": "threads", "before": page.next_before})
        older_url = f"{folder_url}?{query}"
    context.update(
        {
            "folder_url": folder_url,
            "refresh_url": own_url,
            "threads": rows(account.id, folder.id, page.conversations),
            "threads_view": True,
            "messages_rows": [],
            "older_url": older_url,
            "syncing": not folder.complete,
            "events_url": _optional_url("events", account=account.id, folder=folder.id),
            "threads_url": own_url,
        }
    )
    return context


def inbox_page(request: HttpRequest, account: MailAccount) -> HttpResponse:
    """Render an account's inbox, or a wait page while its folders load."""
    folder = _inbox(account)
    if folder is None:
        mailbox.request_sync(account)
        return render(request, "webmail/syncing.html", {"account": account})
    return _folder_page(request, account, folder.id)


@require_GET
@login_required
def account_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Open an account at its inbox."""
    account = _account(request, account_id)
    folder = _inbox(account)
    if folder is None:
        return inbox_page(request, account)
    return redirect("mail_folder", account.id, folder.id)


@require_GET
@login_required
def folder_view(request: HttpRequest, account_id: int, folder_id: int) -> HttpResponse:
    """Show a folder's messages, and ask the worker to check it for news."""
    # The page shows all the user's accounts and the account's folders:
    # read each list once, and find this account and folder in them.
    accounts = accounts_for_user(request.user)  # type: ignore[arg-type]
    account = pick_account(accounts, account_id)
    return _folder_page(request, account, folder_id, accounts)


def _folder_page(
    request: HttpRequest,
    account: MailAccount,
    folder_id: int,
    accounts: list[MailAccount] | None = None,
) -> HttpResponse:
    if accounts is None:
        accounts = accounts_for_user(account.user_id)
    folders = mailbox.folders(account)
    folder = mailbox.pick_folder(folders, folder_id)
    loaded = Loaded(accounts, folders)
    if _is_htmx(request) and request.headers.get("HX-Target") == "list":
        # A refresh after an event: the worker has just synced, so the
        # folder is not checked again (that would echo another event).
        context = _layout(request, account, folder, loaded=loaded)
        context["folders_oob"] = True
        return render(request, "webmail/_refresh.html", context)
    mailbox.check_folder(account, folder)
    context = _layout(request, account, folder, loaded=loaded)
    if _is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


def _open(
    request: HttpRequest, account: MailAccount, folder: Folder, message: Message
) -> present.MessageView:
    """Return the reading pane's view of a message, fetching its body."""
    setting = preferences.mark_read(request.user)  # type: ignore[arg-type]
    # A message whose text could not be shown stays unread.
    mark = not message.seen and setting.mode == MarkRead.AT_ONCE
    body = mailbox.open_message(account, folder, message, mark_seen=mark)
    if mark and not body.error:
        message.seen = True
    view = present.message_view(account.id, folder.id, message)
    if not message.seen and setting.mode == MarkRead.AFTER_DELAY:
        view.seen_url = f"{view.url}seen"
        view.seen_after = setting.delay
    view.error = body.error or ""
    view.has_remote = body.has_remote_content
    view.remote_allowed = request.GET.get("images") == "show" or (
        remote.sender_allowed(request, message.from_address)
    )
    if view.remote_allowed:
        view.body_url += "?images=show"
    view.attachments = [
        present.Attachment(part.filename, part.size, part.url, part.content_type)
        for part in body.attachments
    ]
    ref = f"{folder.id}:{message.uid}"
    view.reply_url = _optional_url("compose", reply=ref)
    view.reply_all_url = _optional_url("compose", reply_all=ref)
    view.forward_url = _optional_url("compose", forward=ref)
    return view


def _reader(
    request: HttpRequest, account: MailAccount, folder: Folder, message: Message
) -> HttpResponse:
    """Render only the reading pane (and the message's list row, out of band)."""
    view = _open(request, account, folder, message)
    context = {
        "account": account,
        "message": view,
        "folder_url": present.folder_url(account.id, folder.id),
        "row_oob": present.row_for(account.id, folder.id, message, current=True),
    }
    return render(request, "webmail/_reader.html", context)


@require_GET
@login_required
def message_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Show a message in the reading pane (marking it read)."""
    folder = mailbox.user_folder(request.user, account_id, folder_id)  # type: ignore[arg-type]
    account = folder.account
    message = mailbox.get_message(folder, uid)
    if _is_htmx(request) and request.headers.get("HX-Target") == "reader":
        return _reader(request, account, folder, message)
    view = _open(request, account, folder, message)
    context = _layout(request, account, folder, current_uid=uid)
    context["message"] = view
    if _is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


@require_POST
@login_required
def flag_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Star or unstar a message."""
    change = {"add" if request.POST.get("flagged") == "1" else "remove": ["\\Flagged"]}
    user: Any = request.user
    message = mailbox.flag_message(user, account_id, folder_id, uid, **change)
    if _is_htmx(request) and request.POST.get("view") == "reader":
        folder = mailbox.user_folder(user, account_id, folder_id)
        return _reader(request, folder.account, folder, message)
    if _is_htmx(request) and request.POST.get("in") in ("all", "one"):
        # A row of search results keeps its folder and its element id.
        account = _account(request, account_id)
        titles = {node.id: node.title for node in frame(account, None)["folders"]}
        show = request.POST.get("in") == "all"
        row = present.search_rows(account.id, [message], titles, show)[0]
        return render(request, "webmail/_row.html", {"m": row})
    if _is_htmx(request):
        row = present.row_for(account_id, folder_id, message)
        return render(request, "webmail/_row.html", {"m": row})
    return redirect("mail_message", account_id, folder_id, uid)


@require_POST
@login_required
def delete_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Move a message to the trash (or delete it for good from the trash)."""
    account = _account(request, account_id)
    folder = mailbox.get_folder(account, folder_id)
    mailbox.get_message(folder, uid)
    mailbox.delete_messages(account, folder, [uid])
    if _is_htmx(request):
        context = _layout(request, account, folder)
        response = render(request, "webmail/_content.html", context)
        response["HX-Push-Url"] = context["folder_url"]
        return response
    return redirect("mail_folder", account.id, folder.id)


@require_POST
@login_required
def allow_sender_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Always show remote images in mail from this message's sender."""
    account = _account(request, account_id)
    folder = mailbox.get_folder(account, folder_id)
    message = mailbox.get_message(folder, uid)
    if not message.from_address:
        raise Http404("The message has no sender address.")
    remote.allow_sender(request, message.from_address)
    if _is_htmx(request):
        return _reader(request, account, folder, message)
    return redirect("mail_message", account.id, folder.id, uid)


@require_POST
@login_required
def dismiss_failure_view(
    request: HttpRequest, account_id: int, operation_id: int
) -> HttpResponse:
    """Hide the error of an action the server refused."""
    account = _account(request, account_id)
    mailbox.dismiss_failure(account, operation_id)
    if _is_htmx(request):
        return HttpResponse("")
    return redirect("mail_account", account.id)
