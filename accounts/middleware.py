"""Per-request account rules: two-factor sign-in, session bookkeeping, no-store.

A signed-in user who has a two-factor device but whose session was not
verified with it (a session from before enrolment elsewhere, or a sign-in
that skipped the code step) is signed out. A user who must use two-factor
sign-in but has not set it up can reach only the set-up page and sign-out.
A page whose password check found every hashing thread busy (password
change, confirming a password, the operator pages) says "try again" (429).
What a signed-in user is shown is not kept by the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url

from accounts import passwords, twofactor, usersessions

View = Callable[..., HttpResponse]
SESSION_ENDED_PARAM = "ended"


def _session_ended(request: HttpRequest) -> bool:
    """Whether the browser sent a session cookie for a session now gone."""
    if not request.COOKIES.get(settings.SESSION_COOKIE_NAME):
        return False
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        return False
    request.session.get("_")  # loading drops a key the store does not know
    return request.session.session_key is None


def allowed_before_2fa(view: View) -> View:
    """Mark a view that a user without required 2FA may still reach."""
    view.allowed_before_2fa = True  # type: ignore[attr-defined]
    return view


class AccountSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 302 and _session_ended(request):
            location = response["Location"]
            if location.startswith(resolve_url(settings.LOGIN_URL)):
                separator = "&" if "?" in location else "?"
                response["Location"] = f"{location}{separator}{SESSION_ENDED_PARAM}=1"
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(exception, passwords.HashingBusy):
            return None
        response = render(
            request, "accounts/busy.html", {"message": passwords.BUSY}, status=429
        )
        response["Retry-After"] = "1"
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: View,
        view_args: Any,
        view_kwargs: Any,
    ) -> HttpResponse | None:
        user: Any = request.user
        if not user.is_authenticated:
            return None
        verified = user.is_verified() if hasattr(user, "is_verified") else False
        if not verified and twofactor.has_any_device_cached(user):
            logout(request)
            return redirect_to_login(request.get_full_path())
        usersessions.touch(request)
        if getattr(view_func, "allowed_before_2fa", False):
            return None
        if twofactor.is_required(user) and not verified:
            return redirect("twofactor_setup")
        return None


class NoStoreMiddleware:
    """Tell the browser to keep no copy of what a signed-in user is shown.

    On a shared computer, the next person could otherwise read mail pages
    and settings from the browser's cache or its back-forward history. A
    response that sets its own Cache-Control (the event stream, a download)
    keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response.setdefault("Cache-Control", "no-store")
        return response
