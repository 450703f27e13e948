"""Undoing a send, and the list of messages that wait to be sent later."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from webmail.mail import compose, scheduled
from webmail.views.layout import account_or_404


@require_POST
@login_required
def cancel_view(
    request: HttpRequest, account_id: int, outgoing_id: int
) -> HttpResponse:
    """Call off a message that has not gone yet; it comes back for editing."""
    account = account_or_404(request, account_id)
    row = compose.outgoing_for(account, outgoing_id)
    draft_id = scheduled.cancel(account, row.id)
    if draft_id is None:
        messages.error(request, _("Too late: the message has gone already."))
        return redirect("mail_outgoing", account.id, row.id)
    messages.success(request, _("Not sent. The message is back for you to edit."))
    url = reverse("mail_compose", args=[account.id])
    return redirect(f"{url}?edit={draft_id}")


@login_required
def waiting_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """The account's messages that wait for their time, each to call off."""
    account = account_or_404(request, account_id)
    context = {
        "account": account,
        "waiting": scheduled.waiting(account),
        "back_url": reverse("mail_account", args=[account.id]),
    }
    return render(request, "webmail/scheduled.html", context)
