"""Signing in: password (local or mail server), then a one-time code.

A user with two-factor sign-in is not logged in after the password step:
the session only remembers, for a few minutes, who passed it. django's
login() (which rotates the session key) runs once the code is accepted.
Axes counts failures and locks out user names and addresses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import authenticate, login
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login

from accounts import backends, passwords, twofactor
from accounts.models import User

PENDING_KEY = "accounts_pending_2fa"
PENDING_SECONDS = 300

BAD_CREDENTIALS = _("The user name or password is wrong.")
DISABLED = _("This account has been disabled. Ask your administrator.")
LOCKED_OUT = _(
    "Too many failed sign-ins. Sign-in is blocked for a while; try again later "
    "or ask your administrator."
)
WRONG_CODE = _("That code is not right. Try the current code from your app.")
PENDING_EXPIRED = _("That took too long. Sign in again.")


@dataclass(frozen=True)
class Outcome:
    """What happened: signed in, a code is needed, or an error to show."""

    signed_in: bool = False
    needs_code: bool = False
    locked_out: bool = False
    busy: bool = False
    error: str = ""


def is_locked_out(request: HttpRequest) -> bool:
    return bool(getattr(request, "axes_locked_out", False))


def _disabled(request: HttpRequest, username: str, password: str) -> bool:
    """Whether these are the right credentials of a disabled user.

    The local password was checked, once, by backends.DisabledUserBackend.
    """
    if getattr(request, "signin_disabled", False):
        return True
    return backends.is_disabled_mail_user(username, password)


def with_password(request: HttpRequest, username: str, password: str) -> Outcome:
    """Check the password; sign in, or ask for a code, or say what failed."""
    username = username.strip()
    try:
        user: Any = authenticate(request, username=username, password=password)
    except passwords.HashingBusy:
        # Not a failed sign-in: nothing is counted towards a lockout.
        return Outcome(busy=True, error=str(passwords.BUSY))
    if is_locked_out(request):
        return Outcome(locked_out=True, error=str(LOCKED_OUT))
    if user is None:
        if _disabled(request, username, password):
            return Outcome(error=str(DISABLED))
        return Outcome(error=str(BAD_CREDENTIALS))
    if twofactor.has_any_device(user):
        request.session[PENDING_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "at": time.time(),
        }
        return Outcome(needs_code=True)
    login(request, user)
    return Outcome(signed_in=True)


def pending_user(request: HttpRequest) -> User | None:
    """Return the user who passed the password step and owes a code."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        del request.session[PENDING_KEY]
        return None
    user_id = pending.get("user")
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()


def with_code(request: HttpRequest, token: str) -> Outcome:
    """Check the one-time (or recovery) code and finish signing in."""
    user = pending_user(request)
    if user is None:
        return Outcome(error=str(PENDING_EXPIRED))
    device = twofactor.verify(request, user, token)
    if device is None:
        return Outcome(needs_code=True, error=str(WRONG_CODE))
    backend = str(request.session[PENDING_KEY]["backend"])
    del request.session[PENDING_KEY]
    login(request, user, backend=backend)
    otp_login(request, device)
    return Outcome(signed_in=True)
