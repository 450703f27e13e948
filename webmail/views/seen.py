"""Marking an open message read after a delay (the user's setting).

The reading pane's script posts here once the message has stayed open for
the chosen number of seconds. The change goes through changes.mark_seen,
so the outbox takes it to the server like any other.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.access import get_account_for_user
from webmail.mail import changes, reading
from webmail.views import present


@require_POST
@login_required
def seen_view(
    request: HttpRequest, account_id: int, folder_id: int, uid: int
) -> HttpResponse:
    """Mark a message read; answer with its list row, now read."""
    account = get_account_for_user(request.user, account_id)  # type: ignore[arg-type]
    folder = reading.get_folder(account, folder_id)
    message = reading.get_message(folder, uid)
    if not message.seen:
        changes.mark_seen(account, folder, [uid])
        message.seen = True
    row = present.row_for(account.id, folder.id, message, current=True)
    return render(request, "webmail/_row.html", {"m": row, "oob": True})
