"""The search results page: a server search with filters, as a message list.

/mail/<account>/search?q=...&folder=<id>|all&since=...&until=...&unread=1
&flagged=1&attachment=1&field=text|from|to|subject|body is a permalink:
the results are a list like a folder's, with its own pages, and its rows
can be selected and acted on (views/bulk.py, search_bulk_view).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from accounts.models import MailAccount
from webmail.mail import reading, search
from webmail.views import present
from webmail.views.layout import account_or_404, frame, is_htmx, optional_url
from webmail.views.tree import FolderNode


@require_GET
@login_required
def search_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Search the account's mail on its server and list what was found."""
    account = account_or_404(request, account_id)
    context = results_context(account, request.GET)
    if is_htmx(request):
        return render(request, "webmail/_content.html", context)
    return render(request, "webmail/mailbox.html", context)


def results_context(
    account: MailAccount, params: Mapping[str, str], *, reuse: bool = False
) -> dict[str, Any]:
    """Return the layout's context with a page of search results as the list.

    reuse: list the hits of the last run of this search while they are kept
    (the page shown again after an action) rather than searching again.
    """
    query, errors = search.parse_query(params)
    scope = (
        reading.get_folder(account, query.folder_id)
        if query.folder_id is not None
        else None
    )
    before = params.get("before", "")
    if query.empty:
        page = search.SearchPage([], "")
    else:
        page = search.find(account, query, before=before, reuse=reuse)
    context = frame(account, scope)
    titles = {node.id: node.title for node in context["folders"]}
    search_url = context["search_url"]
    query_params = query.params()
    older_url = ""
    if page.next_before:
        older = urlencode({**query_params, "before": page.next_before})
        older_url = f"{search_url}?{older}"
    own = {**query_params, "before": before} if before else query_params
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
            # This page of results: where the list comes back after an action.
            "search_page_url": f"{search_url}?{urlencode(own)}",
            "messages_rows": present.search_rows(
                account.id, page.messages, titles, show_folder=scope is None
            ),
            "older_url": older_url,
            "query": "",
            "syncing": False,
            "events_url": optional_url("events", account=account.id),
            "bulk_url": reverse("mail_search_bulk", args=[account.id]),
            # "Select all N results" is offered when the page is not all.
            "folder_count": page.total if older_url else 0,
        }
    )
    return context


def _first_folder_url(nodes: list[FolderNode]) -> str:
    return next((node.url for node in nodes if node.folder.selectable), "")
