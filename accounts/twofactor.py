"""Two-factor sign-in: TOTP apps enrolled by QR code, and recovery codes.

Built on django-otp: a confirmed TOTPDevice is the user's app; a
StaticDevice holds single-use recovery codes. Both throttle wrong codes.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import audit
from accounts.models import AuditKind, User

RECOVERY_CODES = 10
PENDING_NAME = "pending"


def is_required(user: User) -> bool:
    """Whether the user must have two-factor sign-in before going on."""
    return bool(settings.REQUIRE_2FA or user.require_2fa)


def is_enabled(user: User) -> bool:
    """Whether the user has a confirmed authenticator app."""
    return bool(TOTPDevice.objects.filter(user=user, confirmed=True).exists())


def has_any_device(user: User) -> bool:
    return bool(user_has_device(user, confirmed=True))


def pending_device(user: User) -> TOTPDevice:
    """Return the unconfirmed device being enrolled, making one if needed."""
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, name=PENDING_NAME
    ).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, confirmed=False, name=PENDING_NAME
        )
    return device


def qr_code_data_uri(device: TOTPDevice) -> str:
    """Return the enrolment QR code as an SVG data: URI (no inline markup)."""
    image: Any = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage
    )
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def secret_for_typing(device: TOTPDevice) -> str:
    """Return the key in base32 groups of four, for apps without a camera."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@transaction.atomic
def confirm(
    request: HttpRequest, user: User, device: TOTPDevice, token: str
) -> list[str] | None:
    """Confirm enrolment with a code from the app; return recovery codes.

    Returns None (and nothing changes) when the code is wrong. The current
    session counts as verified by the new device.
    """
    if not device.verify_token(_digits(token)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.name = "Authenticator app"
    device.save()
    codes = new_recovery_codes(user)
    otp_login(request, device)
    audit.record(AuditKind.TOTP_ENABLED, request=request, user=user)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones and return them."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(
        user=user, name="Recovery codes", confirmed=True
    )
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user: User) -> int:
    return int(StaticToken.objects.filter(device__user=user).count())


@transaction.atomic
def disable(user: User, request: HttpRequest, *, by_admin: bool = False) -> None:
    """Remove the user's app and recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    actor = request.user if by_admin and isinstance(request.user, User) else None
    audit.record(
        AuditKind.TOTP_DISABLED,
        request=request,
        user=user,
        actor=actor,
        detail="reset by an admin" if by_admin else "",
    )


def _digits(token: str) -> str:
    return "".join(token.split())


def verify(request: HttpRequest, user: User, token: str) -> Any:
    """Return the device that accepts the code (app or recovery), or None."""
    cleaned = _digits(token).lower()
    if not cleaned:
        return None
    device = match_token(user, cleaned)
    if device is None:
        audit.record(AuditKind.TOTP_FAILED, request=request, user=user)
    elif isinstance(device, StaticDevice):
        audit.record(
            AuditKind.RECOVERY_CODE_USED,
            request=request,
            user=user,
            detail=f"{recovery_codes_left(user)} left",
        )
    return device
