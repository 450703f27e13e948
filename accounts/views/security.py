"""A user's own security page: two-factor sign-in, sessions, password."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import audit, twofactor, usersessions
from accounts.forms import CodeForm, ConfirmPasswordForm, PasswordChangeForm
from accounts.middleware import allowed_before_2fa
from accounts.models import AuditKind, User


def _user(request: HttpRequest) -> User:
    user: Any = request.user
    assert isinstance(user, User)
    return user


PAGE_SIZE = 50


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context = {
        "two_factor": twofactor.is_enabled(user),
        "two_factor_required": twofactor.is_required(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "sessions": _sessions_page(request, user),
        "current_key": request.session.session_key,
        "confirm_form": ConfirmPasswordForm(user),
    }
    return render(request, "accounts/security.html", context)


def _sessions_page(request: HttpRequest, user: User) -> Page[usersessions.Shown]:
    """The user's sessions, most recently seen first, 50 a page."""
    live = sorted(
        usersessions.active_sessions(user), key=lambda s: s.last_seen, reverse=True
    )
    rows = [usersessions.shown(record) for record in live]
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _not_confirmed(request: HttpRequest, form: ConfirmPasswordForm) -> HttpResponse:
    """Say why the password did not confirm the change: wrong, or too long."""
    if form.has_error("password", "max_length"):
        messages.error(request, str(form.errors["password"][0]))
    else:
        messages.error(request, _("That is not your password; nothing changed."))
    return redirect("security")


@sensitive_post_parameters("code")
@login_required
@allowed_before_2fa
def twofactor_setup(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    device = twofactor.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm(request, user, device, form.cleaned_data["code"])
        if codes is not None:
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
        form.add_error("code", _("That code is not right. Check your app's clock."))
    context = {
        "form": form,
        "qr_code": twofactor.qr_code_data_uri(device),
        "secret": twofactor.secret_for_typing(device),
        "required": twofactor.is_required(user),
    }
    return render(request, "accounts/twofactor_setup.html", context)


@sensitive_post_parameters("password")
@require_POST
@login_required
def twofactor_disable(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if twofactor.is_required(user):
        messages.error(request, _("Your administrator requires two-factor sign-in."))
        return redirect("security")
    form = ConfirmPasswordForm(user, request.POST)
    if not form.is_valid():
        return _not_confirmed(request, form)
    twofactor.disable(user, request)
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("security")


@sensitive_post_parameters("password")
@require_POST
@login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ConfirmPasswordForm(user, request.POST)
    if not twofactor.is_enabled(user) or not form.is_valid():
        return _not_confirmed(request, form)
    codes = twofactor.new_recovery_codes(user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@require_POST
@login_required
def session_end(request: HttpRequest, session_id: int) -> HttpResponse:
    record = usersessions.get_session_for_user(_user(request), session_id)
    if record is None:
        raise Http404("No such session.")
    usersessions.end_session(record)
    messages.success(request, _("That session is signed out."))
    return redirect("security")


@require_POST
@login_required
@allowed_before_2fa
def sessions_end_all(request: HttpRequest) -> HttpResponse:
    usersessions.end_all(_user(request), request)
    return redirect("login")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, user)
        current = request.session.session_key
        for record in user.sessions.exclude(session_key=current):
            usersessions.end_session(record)
        audit.record(AuditKind.PASSWORD_CHANGED, request=request, user=user)
        messages.success(request, _("Your password is changed. Other sessions ended."))
        return redirect("security")
    return render(request, "accounts/password_change.html", {"form": form})
