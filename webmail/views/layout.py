"""What every mailbox page shows around its content: the layout, the folders, the list.

The views of webmail.views build their pages from these: the whole layout
for a full page load, or only the part an htmx request swaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from accounts.access import accounts_for_user, get_account_for_user
from accounts.models import MailAccount
from webmail.mail import bulk, places, reading, status, storage
from webmail.mail.conversations import list_conversations as conversations_list
from webmail.views import present

if TYPE_CHECKING:
    from webmail.models import Folder, Message

PAGE_SIZE = 50


def account_or_404(request: HttpRequest, account_id: int) -> MailAccount:
    return get_account_for_user(request.user, account_id)  # type: ignore[arg-type]


def is_htmx(request: HttpRequest) -> bool:
    # A history restore asks for the whole page even though htmx sends it.
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def optional_url(name: str, **query: Any) -> str:
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
    folders = loaded.folders if loaded else reading.folders(account)
    nodes = present.folder_nodes(
        account.id, folders, prefix=present.folder_prefix(account)
    )
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
        "account_error": status.state_error(this),
        "failures": status.failed_operations(account),
        "quota": storage.quota_of(this),
        # A folder's list sets these (layout()): its place and newer page.
        "place": None,
        "newer_url": "",
        "list_query": "",
        "selection_key": "",
    }


def list_params(request: HttpRequest) -> QueryDict:
    """Return the parameters of the list the user is on.

    A page's own query string; for an action posted from the reading pane
    or a conversation, the list's, which the page's script sends along
    ("list"): the answer redraws the list where the user had it.
    """
    if request.method == "POST" and "list" in request.POST:
        return QueryDict(request.POST["list"][:2000])
    return request.GET


def layout(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    current_uid: int | None = None,
    loaded: Loaded | None = None,
    holding: Message | None = None,
) -> dict[str, Any]:
    """Return the context of the whole layout: folders, list and pane.

    holding: the open message; without a cursor in the URL, the list shows
    the page that holds it (a permalink to an old message).
    """
    given = list_params(request)
    query = given.get("q", "").strip()[:200]
    sort = given.get("sort", "date")
    if sort not in reading.SORTS:
        sort = "date"
    descending = reading.sort_descending(sort, given.get("dir", ""))
    if given.get("view") == "threads" and not query:
        return threads_layout(request, account, folder, loaded)
    order = places.Order(sort=sort, descending=descending, query=query)
    before = given.get("before", "")
    if not before and holding is not None and not query:
        before = places.page_holding(folder, order, holding)
    page = reading.list_messages(
        account,
        folder,
        query=query,
        before=before,
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
    if descending != reading.sort_descending(sort, ""):
        params["dir"] = "desc" if descending else "asc"
    list_url = f"{folder_url}?{urlencode(params)}" if params else folder_url
    older_url = ""
    if page.next_before:
        older_url = f"{folder_url}?{urlencode({**params, 'before': page.next_before})}"
    place = places.place(
        folder, order, before, page.messages, more=bool(page.next_before)
    )
    newer_url = ""
    if place.newer is not None:
        newer = {**params, "before": place.newer} if place.newer else params
        newer_url = f"{folder_url}?{urlencode(newer)}" if newer else folder_url
    # Where the user is: refreshes redraw this page, actions come back to it.
    here = {**params, "before": before} if place.newer is not None else params
    context.update(
        {
            "folder_url": folder_url,
            "refresh_url": f"{folder_url}?{urlencode(here)}" if here else folder_url,
            "list_query": urlencode(here),
            "selection_key": list_url,
            "messages_rows": present.message_rows(
                account.id, folder.id, page.messages, current_uid
            ),
            "older_url": older_url,
            "newer_url": newer_url,
            "place": place,
            "query": query,
            "sort": sort,
            "sort_dir": "desc" if descending else "asc",
            "sort_choices": SORT_CHOICES,
            "syncing": not folder.complete,
            "events_url": optional_url("events", account=account.id, folder=folder.id),
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
    "folder_gone": False,
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


def threads_layout(
    request: HttpRequest,
    account: MailAccount,
    folder: Folder,
    loaded: Loaded | None = None,
) -> dict[str, Any]:
    """Return the layout's context with the list grouped by conversation."""
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
            "threads": present.conversation_rows(
                account.id, folder.id, page.conversations
            ),
            "threads_view": True,
            "messages_rows": [],
            "older_url": older_url,
            "syncing": not folder.complete,
            "events_url": optional_url("events", account=account.id, folder=folder.id),
            "threads_url": own_url,
        }
    )
    return context
