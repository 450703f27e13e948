"""The search results page: a server search with filters, as a message list.

/mail/<account>/search?q=...&folder=<id>|all&since=...&until=...&unread=1
&flagged=1&attachment=1&field=text|from|to|subject|body is a permalink:
the results are a list like a folder's, with its own pages.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from webmail import mailbox, search
from webmail.views import present
from webmail.views.mailbox import _account, _is_htmx, _optional_url, frame
from webmail.views.tree import FolderNode


@require_GET
@login_required
def search_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Search the account's mail on its server and list what was found."""
    account = _account(request, account_id)
    query, errors = search.parse_query(request.GET)
    scope = (
        mailbox.get_folder(account, query.folder_id)
        if query.folder_id is not None
        else None
    )
    if query.empty:
        page = search.SearchPage([], "")
    else:
        page = search.find(account, query, before=request.GET.get("before", ""))
    context = frame(account, scope)
    titles = {node.id: node.title for node in context["folders"]}
    search_url = context["search_url"]
    params = query.params()
    older_url = ""
    if page.next_before:
        older_url = f"{search_url}?{urlencode({**params, 'before': page.next_before})}"
    if context["folder"] is None:
        context["folder"] = SimpleNamespace(id=None, title=gettext("All folders"))
    context.update(
        {
            "search": query,
            "search_errors": errors,
            "search_note": page.note,
            "search_error": page.error,
            # The instant search box and "Back" go to the searched folder.
            "folder_url": present.folder_url(account.id, scope.id)
            if scope
            else _first_folder_url(context["folders"]),
            "refresh_url": "",
            "messages_rows": present.search_rows(
                account.id, page.messages, titles, show_folder=scope is None
            ),
            "older_url": older_url,
            "query": "",
            "syncing": False,
            "events_url": _optional_url("events", account=account.id),
        }
    )
    if _is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


def _first_folder_url(nodes: list[FolderNode]) -> str:
    return next((node.url for node in nodes if node.folder.selectable), "")
