"""Sign-in, the one-time code step, sign-out, and the lockout page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import signin
from accounts.forms import CodeForm, SignInForm
from accounts.middleware import SESSION_ENDED_PARAM, allowed_before_2fa

SESSION_ENDED = _(
    "Your session has ended: it expired or was signed out. Sign in again."
)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    ended = request.GET.get(SESSION_ENDED_PARAM) == "1"
    notice = SESSION_ENDED if request.method == "GET" and ended else ""
    error = ""
    status = 200
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = signin.with_password(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
        if outcome.locked_out:
            return locked_out(request)
        if outcome.signed_in:
            return redirect(_next_url(request))
        if outcome.needs_code:
            return redirect(
                reverse("login_code") + "?next=" + _quote(_next_url(request))
            )
        error = outcome.error
        if outcome.busy:
            status = 429
    elif form.errors:
        # A password too long to hash, say: the page shows no field errors.
        error = str(next(iter(form.errors.values()))[0])
    context = {"form": form, "error": error, "notice": notice}
    context["next"] = request.POST.get("next") or request.GET.get("next", "")
    response = render(request, "registration/login.html", context, status=status)
    if status == 429:
        response["Retry-After"] = "1"
    return response


def _quote(value: str) -> str:
    return quote(value, safe="/")


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    if signin.pending_user(request) is None:
        return redirect("login")
    error = ""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = signin.with_code(request, form.cleaned_data["code"])
        if outcome.signed_in:
            return redirect(_next_url(request))
        if not outcome.needs_code:
            return redirect("login")
        error = outcome.error
    context = {"form": form, "error": error, "next": _next_url(request)}
    return render(request, "registration/login_code.html", context)


@require_POST
@allowed_before_2fa
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return render(request, "registration/logged_out.html")


def admin_login(request: HttpRequest) -> HttpResponse:
    """Send admin sign-ins through the one sign-in page.

    A signed-in user who is not staff has no admin page to go to.
    """
    if request.user.is_authenticated:
        raise PermissionDenied
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(reverse("login") + "?next=" + _quote(target))


def locked_out(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The page Axes shows while a user name or address is locked out."""
    return render(
        request,
        "registration/locked_out.html",
        {"message": signin.LOCKED_OUT},
        status=429,
    )
