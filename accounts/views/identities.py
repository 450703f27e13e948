"""A mail account's identities: list, add, change, remove, choose the default."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import identities
from accounts.access import get_account_for_user
from accounts.models import Identity, MailAccount, User


def _account(request: HttpRequest, account_id: int) -> MailAccount:
    user: Any = request.user
    assert isinstance(user, User)
    return get_account_for_user(user, account_id)


@login_required
def identity_list(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    context = {"account": account, "identities": account.identities.all()}
    return render(request, "accounts/identities.html", context)


def _edit(
    request: HttpRequest, account: MailAccount, identity: Identity | None
) -> HttpResponse:
    initial = {} if identity else {"email": account.email}
    form = identities.IdentityForm(
        request.POST or None, instance=identity, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        saved = identities.save_identity(account, form)
        messages.success(request, _("%(identity)s is saved.") % {"identity": saved})
        return redirect("mail_identities", account.id)
    context = {"account": account, "identity": identity, "form": form}
    status = 400 if form.errors else 200
    return render(request, "accounts/identity_edit.html", context, status=status)


@login_required
def identity_add(request: HttpRequest, account_id: int) -> HttpResponse:
    return _edit(request, _account(request, account_id), None)


@login_required
def identity_edit(
    request: HttpRequest, account_id: int, identity_id: int
) -> HttpResponse:
    account = _account(request, account_id)
    return _edit(request, account, identities.identity_for(account, identity_id))


@require_POST
@login_required
def identity_default(
    request: HttpRequest, account_id: int, identity_id: int
) -> HttpResponse:
    account = _account(request, account_id)
    identity = identities.identity_for(account, identity_id)
    identities.make_default(identity)
    messages.success(
        request, _("New messages now start as %(identity)s.") % {"identity": identity}
    )
    return redirect("mail_identities", account.id)


@require_POST
@login_required
def identity_delete(
    request: HttpRequest, account_id: int, identity_id: int
) -> HttpResponse:
    account = _account(request, account_id)
    identity = identities.identity_for(account, identity_id)
    identities.delete_identity(identity)
    messages.success(request, _("%(identity)s is removed.") % {"identity": identity})
    return redirect("mail_identities", account.id)
