"""Pages of the webmail. Each module holds the views of one noun."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import default_account_for_user


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Show the inbox of the user's first mail account, or how to add one."""
    from webmail.views.mailbox import inbox_page

    account = default_account_for_user(request.user)  # type: ignore[arg-type]
    if account is None:
        return render(request, "webmail/home.html")
    return inbox_page(request, account)
