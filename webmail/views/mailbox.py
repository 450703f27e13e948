"""The mailbox pages: a folder's message list and an open message.

Every folder and message has its own URL. A full page load renders the
whole layout; htmx requests get only the part they swap (the reading pane
for a message, the folders, list and pane for a folder), so navigation is
quick and the back button, new tabs and bookmarks still work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import preferences
from accounts.access import (
    accounts_for_user,
    default_account_for_user,
    pick_account,
)
from accounts.models import MailAccount, MarkRead
from webmail.mail import bodies, changes, reading, status
from webmail.views import attached, present, remote
from webmail.views.body import document, shows_remote
from webmail.views.layout import (
    Loaded,
    account_or_404,
    frame,
    is_htmx,
    layout,
)
from webmail.views.pane import pane_tools

if TYPE_CHECKING:
    from webmail.models import Folder, Message


def _inbox(account: MailAccount) -> Folder | None:
    folders = [folder for folder in reading.folders(account) if folder.selectable]
    return folders[0] if folders else None


def inbox_page(request: HttpRequest, account: MailAccount) -> HttpResponse:
    """Render an account's inbox, or a wait page while its folders load."""
    folder = _inbox(account)
    if folder is None:
        reading.request_sync(account)
        return render(request, "webmail/syncing.html", {"account": account})
    return _folder_page(request, account, folder.id)


@require_GET
@login_required
def account_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Open an account at its inbox."""
    account = account_or_404(request, account_id)
    folder = _inbox(account)
    if folder is None:
        return inbox_page(request, account)
    if request.GET.get("gone") == "1":
        url = reverse("mail_folder", args=[account.id, folder.id])
        return redirect(f"{url}?gone=1")
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
    folders = reading.folders(account)
    refresh = is_htmx(request) and request.headers.get("HX-Target") == "list"
    try:
        folder = reading.pick_folder(folders, folder_id)
    except Http404:
        if not refresh:
            raise
        # The open folder went (deleted or renamed in another app, or in
        # another tab): the page moves to the inbox, which says so.
        response = HttpResponseNotFound()
        gone = reverse("mail_account", args=[account.id])
        response["HX-Redirect"] = f"{gone}?gone=1"
        return response
    loaded = Loaded(accounts, folders)
    if refresh:
        # A refresh after an event: the worker has just synced, so the
        # folder is not checked again (that would echo another event).
        context = layout(request, account, folder, loaded=loaded)
        context["folders_oob"] = True
        return render(request, "webmail/_refresh.html", context)
    reading.check_folder(account, folder)
    context = layout(request, account, folder, loaded=loaded)
    context["folder_gone"] = request.GET.get("gone") == "1"
    if is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


def _open(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    message: Message,
    body: bodies.BodyState | None = None,
) -> present.MessageView:
    """Return the reading pane's view of a message, fetching its body.

    body: the body the worker has sent meanwhile (message_wait_view).
    """
    setting = preferences.mark_read(request.user)  # type: ignore[arg-type]
    # A message whose text could not be shown stays unread.
    mark = not message.seen and setting.mode == MarkRead.AT_ONCE
    if body is None:
        body = bodies.open_message(account, folder, message, mark_seen=mark, defer=True)
    if mark and not body.error and not body.pending:
        message.seen = True
    view = present.message_view(account.id, folder.id, message)
    if body.pending:
        # The pane asks for itself again, from an async view that waits
        # for the body without holding one of the page threads.
        args = [account.id, folder.id, message.uid, body.pending]
        query = request.GET.urlencode()
        view.wait_url = reverse("mail_message_wait", args=args) + (
            f"?{query}" if query else ""
        )
    elif not message.seen and setting.mode == MarkRead.AFTER_DELAY:
        view.seen_url = f"{view.url}seen"
        view.seen_after = setting.delay
    view.error = body.error or ""
    view.has_remote = body.has_remote_content
    view.truncated = body.truncated
    view.remote_allowed = shows_remote(request, message)
    if view.remote_allowed:
        view.body_url += "?images=show"
    if not body.error and not body.pending:
        # The body comes with the pane: the reader waits for one answer.
        view.body_document = document(
            account, folder, message, body, view.remote_allowed
        )
    view.attachments = [
        attached.Attachment(
            part.filename, part.size, part.url, part.content_type, part.part_id
        )
        for part in body.attachments
    ]
    view.invitation = attached.invitation_of(body.invitation)
    if body.forwarded:
        view.attachments = attached.with_attached_files(
            view.attachments, attached.forwarded_views(view.url, body.forwarded)
        )
    ref = f"{folder.id}:{message.uid}"
    write = reverse("mail_compose", args=[account.id])
    view.reply_url = f"{write}?{urlencode({'reply': ref})}"
    view.reply_all_url = f"{write}?{urlencode({'reply_all': ref})}"
    view.forward_url = f"{write}?{urlencode({'forward': ref})}"
    view.forward_attached_url = f"{write}?{urlencode({'forward_attached': ref})}"
    if message.draft or folder.special_use.lower() == "\\drafts":
        view.edit_url = f"{write}?{urlencode({'draft': ref})}"
    return view


def _reader(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    message: Message,
    body: bodies.BodyState | None = None,
) -> HttpResponse:
    """Render only the reading pane (and the message's list row, out of band)."""
    context = _reader_context(request, account, folder, message, body)
    return render(request, "webmail/_reader.html", context)


def _reader_context(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    message: Message,
    body: bodies.BodyState | None = None,
) -> dict[str, Any]:
    return {
        "account": account,
        "message": _open(request, account, folder, message, body),
        "folder_url": present.folder_url(account.id, folder.id),
        "row_oob": present.row_for(account.id, folder.id, message, current=True),
        "tools": pane_tools(account, folder),
    }


def next_message_answer(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    following: Message,
    gone: int,
    notice: str,
    undo_url: str,
) -> HttpResponse:
    """Answer an htmx action that took the open message (UID gone) away.

    The next message opens in the pane, the row goes and the notice says
    what was done, at once; the page then asks for its list again
    (webmail-moved), as after a move from the list. Redrawing the whole
    page here cost the answer twice what the action did.
    """
    context = _reader_context(request, account, folder, following)
    context.update(gone=gone, notice=notice, undo_url=undo_url)
    response = render(request, "webmail/_pane_next.html", context)
    response["HX-Retarget"] = "#reader"
    response["HX-Reswap"] = "innerHTML"
    response["HX-Trigger"] = "webmail-moved"
    response["HX-Push-Url"] = present.message_url(account.id, folder.id, following.uid)
    return response


def message_page(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    message: Message,
    notice: str = "",
    undo_url: str = "",
) -> HttpResponse:
    """Render the layout with a message open (only #app's part for htmx).

    notice says what was just done (an htmx answer shows it in the status),
    undo_url where to undo it.
    """
    view = _open(request, account, folder, message)
    context = layout(request, account, folder, current_uid=message.uid, holding=message)
    context["message"] = view
    context["notice"] = notice
    context["undo_url"] = undo_url
    context["tools"] = pane_tools(account, folder)
    if is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


@require_GET
@login_required
def message_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Show a message in the reading pane (marking it read)."""
    folder = reading.user_folder(request.user, account_id, folder_id)  # type: ignore[arg-type]
    account = folder.account
    message = reading.get_message(folder, uid)
    if is_htmx(request) and request.headers.get("HX-Target") == "reader":
        return _reader(request, account, folder, message)
    return message_page(request, account, folder, message)


@require_GET
@login_required
async def message_wait_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int, token: str
) -> HttpResponse:
    """The reading pane of a message whose body was still on its way.

    An async view: the wait (up to BODY_FETCH_TIMEOUT, behind a server that
    hangs) holds none of the page threads. token: the pane's wait.
    """
    user = await request.auser()
    assert user.pk is not None  # signed in
    body = await bodies.await_body(int(user.pk), token)
    return await sync_to_async(_reader_with_body)(
        request, account_id, folder_id, uid, body
    )


def _reader_with_body(
    request: HttpRequest,
    account_id: int,
    folder_id: int,
    uid: int,
    body: dict[str, Any],
) -> HttpResponse:
    folder = reading.user_folder(request.user, account_id, folder_id)  # type: ignore[arg-type]
    message = reading.get_message(folder, uid)
    state = bodies.body_state(folder.account_id, folder, uid, body)
    return _reader(request, folder.account, folder, message, state)


@require_POST
@login_required
def flag_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Star or unstar a message."""
    change = {"add" if request.POST.get("flagged") == "1" else "remove": ["\\Flagged"]}
    user: Any = request.user
    message = changes.flag_message(user, account_id, folder_id, uid, **change)
    if is_htmx(request) and request.POST.get("view") == "reader":
        folder = reading.user_folder(user, account_id, folder_id)
        return _reader(request, folder.account, folder, message)
    if is_htmx(request) and request.POST.get("in") in ("all", "one"):
        # A row of search results keeps its folder and its element id.
        account = account_or_404(request, account_id)
        titles = {node.id: node.title for node in frame(account, None)["folders"]}
        show = request.POST.get("in") == "all"
        row = present.search_rows(account.id, [message], titles, show)[0]
        return render(request, "webmail/_row.html", {"m": row})
    if is_htmx(request):
        row = present.row_for(account_id, folder_id, message)
        return render(request, "webmail/_row.html", {"m": row})
    return redirect("mail_message", account_id, folder_id, uid)


@require_POST
@login_required
def allow_sender_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Always show remote images in mail from this message's sender."""
    account = account_or_404(request, account_id)
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    if not message.from_address:
        raise Http404("The message has no sender address.")
    remote.allow_sender(request, message.from_address)
    if is_htmx(request):
        return _reader(request, account, folder, message)
    return redirect("mail_message", account.id, folder.id, uid)


@require_POST
@login_required
def dismiss_failure_view(
    request: HttpRequest, account_id: int, operation_id: int
) -> HttpResponse:
    """Hide the error of an action the server refused."""
    account = account_or_404(request, account_id)
    status.dismiss_failure(account, operation_id)
    if is_htmx(request):
        return HttpResponse("")
    return redirect("mail_account", account.id)


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the inbox of the user's first mail account, or how to add one."""
    account = default_account_for_user(request.user)  # type: ignore[arg-type]
    if account is None:
        return render(request, "webmail/home.html")
    return inbox_page(request, account)
