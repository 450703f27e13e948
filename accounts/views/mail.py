"""A user's mail accounts: list, add, change, test, remove."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import hosts, mailaccounts
from accounts.access import get_account_for_user
from accounts.forms import MailAccountForm
from accounts.models import MailAccount, User


def _user(request: HttpRequest) -> User:
    user: Any = request.user
    assert isinstance(user, User)
    return user


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = MailAccount.objects.filter(user=_user(request))
    return render(request, "accounts/mail_list.html", {"accounts": accounts})


def _edit(request: HttpRequest, account: MailAccount | None) -> HttpResponse:
    user = _user(request)
    initial = MailAccountForm.initial_for(account) if account else {}
    address = request.POST.get("email", "")
    preset = mailaccounts.preset_for(address) if request.method == "POST" else None
    form = MailAccountForm(
        request.POST or None,
        initial=initial,
        account=account,
        has_preset=preset is not None,
    )
    outcome = None
    if request.method == "POST" and form.is_valid():
        imap_settings, smtp_settings = form.server_settings()
        if preset is not None and not imap_settings.host:
            imap_settings, smtp_settings = mailaccounts.settings_from_preset(
                preset, form.cleaned_data["email"], imap_settings.password
            )
        host = hosts.normalise_host(imap_settings.host)
        if not form.check_not_twice(user, host, imap_settings.username):
            context: dict[str, Any] = {"form": form, "account": account}
            return render(request, "accounts/mail_edit.html", context)
        fingerprint = account.tls_fingerprint if account else ""
        outcome = mailaccounts.test_settings(imap_settings, smtp_settings, fingerprint)
        if outcome.ok and request.POST.get("action") == "save":
            saved = mailaccounts.save_account(
                user,
                form.cleaned_data["email"],
                imap_settings,
                smtp_settings,
                outcome,
                account,
            )
            messages.success(
                request,
                _("%(email)s is set up and working.") % {"email": saved.email},
            )
            return redirect("mail_accounts")
        _forget_refused(form, outcome)
    context = {"form": form, "account": account, "outcome": outcome}
    return render(request, "accounts/mail_edit.html", context)


def _forget_refused(form: MailAccountForm, outcome: mailaccounts.TestOutcome) -> None:
    """Keep a password in the form only if the server took it.

    One that signed in is kept for "Test and save"; a refused one is not
    shown back in the page.
    """
    refused = [
        name
        for name, result in (
            ("imap_password", outcome.imap),
            ("smtp_password", outcome.smtp),
        )
        if result is not None and any(a.problem == "login" for a in result.attempts)
    ]
    if refused:
        data = QueryDict(mutable=True)
        data.update(form.data)
        for name in refused:
            data[name] = ""
        form.data = data


@sensitive_post_parameters("imap_password", "smtp_password")
@login_required
def account_add(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@sensitive_post_parameters("imap_password", "smtp_password")
@login_required
def account_edit(request: HttpRequest, account_id: int) -> HttpResponse:
    return _edit(request, get_account_for_user(_user(request), account_id))


@require_POST
@login_required
def account_test(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_account_for_user(_user(request), account_id)
    outcome = mailaccounts.test_account(account)
    context = {
        "form": MailAccountForm(
            initial=MailAccountForm.initial_for(account), account=account
        ),
        "account": account,
        "outcome": outcome,
    }
    return render(request, "accounts/mail_edit.html", context)


@login_required
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    """Ask first (GET), then remove the account (POST): not the mail on the server."""
    account = get_account_for_user(_user(request), account_id)
    if request.method != "POST":
        return render(request, "accounts/mail_delete.html", {"account": account})
    mailaccounts.delete_account(account)
    messages.success(request, _("%(email)s is removed.") % {"email": account.email})
    return redirect("mail_accounts")
