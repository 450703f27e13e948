"""Two-factor sign-in: TOTP apps enrolled by QR code, and recovery codes.

Built on django-otp: a confirmed EncryptedTOTPDevice is the user's app; a
RecoveryCodeDevice holds single-use recovery codes. Both throttle wrong
codes, and both keep their secrets encrypted (accounts.models).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticToken

from accounts import audit, crypto
from accounts.models import (
    AuditKind,
    EncryptedTOTPDevice,
    RecoveryCode,
    RecoveryCodeDevice,
    User,
)
from webmail.shared.readthrough import forget_if_reachable, read_through

RECOVERY_CODES = 10
PENDING_NAME = "pending"
DEVICES_CACHE_SECONDS = 300


def is_required(user: User) -> bool:
    """Whether the user must have two-factor sign-in before going on."""
    return bool(settings.REQUIRE_2FA or user.require_2fa)


def is_enabled(user: User) -> bool:
    """Whether the user has a confirmed authenticator app."""
    return bool(EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).exists())


def has_any_device(user: User) -> bool:
    """Whether the user has any confirmed device (asked at sign-in)."""
    return bool(user_has_device(user, confirmed=True))


def has_any_device_cached(user: User) -> bool:
    """has_any_device, for the check that runs on every request.

    django-otp asks each device table in turn; the answer is kept in the
    cache and dropped whenever one of the user's devices is saved or
    deleted, and at every sign-in.
    """
    return read_through(
        _devices_key(user.pk),
        lambda: bool(user_has_device(user, confirmed=True)),
        DEVICES_CACHE_SECONDS,
    )


def _devices_key(user_id: int) -> str:
    return f"2fa-devices:{user_id}"


def _forget_devices(sender: type, instance: Device, **_: Any) -> None:
    cache.delete(_devices_key(instance.user_id))


def _forget_at_sign_in(sender: type, user: User, **_: Any) -> None:
    # A new session asks afresh (user ids of a test database come back).
    # A device change drops the answer unforgivingly, so one left here while
    # Redis is away is still right.
    forget_if_reachable(_devices_key(user.pk))


def connect_signals() -> None:
    """Drop the cached answer of has_any_device_cached when a device changes."""
    user_logged_in.connect(_forget_at_sign_in)
    for model in apps.get_models():
        if issubclass(model, Device):
            post_save.connect(_forget_devices, sender=model)
            post_delete.connect(_forget_devices, sender=model)


def pending_device(user: User) -> EncryptedTOTPDevice:
    """Return the unconfirmed device being enrolled, making one if needed."""
    device: EncryptedTOTPDevice | None = EncryptedTOTPDevice.objects.filter(
        user=user, confirmed=False, name=PENDING_NAME
    ).first()
    if device is None:
        device = EncryptedTOTPDevice.objects.create(
            user=user, confirmed=False, name=PENDING_NAME
        )
    return device


def qr_code_data_uri(device: EncryptedTOTPDevice) -> str:
    """Return the enrolment QR code as an SVG data: URI (no inline markup)."""
    image: Any = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathImage
    )
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


def secret_for_typing(device: EncryptedTOTPDevice) -> str:
    """Return the key in base32 groups of four, for apps without a camera."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@transaction.atomic
def confirm(
    request: HttpRequest, user: User, device: EncryptedTOTPDevice, token: str
) -> list[str] | None:
    """Confirm enrolment with a code from the app; return recovery codes.

    Returns None (and nothing changes) when the code is wrong. The current
    session counts as verified by the new device.
    """
    if not device.verify_token(_digits(token)):
        return None
    EncryptedTOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.name = "Authenticator app"
    device.save()
    codes = new_recovery_codes(user)
    otp_login(request, device)
    audit.record(AuditKind.TOTP_ENABLED, request=request, user=user)
    return codes


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones and return them."""
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(
        user=user, name="Recovery codes", confirmed=True
    )
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_encrypted=crypto.encrypt(c)) for c in codes
    )
    return codes


def recovery_codes_left(user: User) -> int:
    return int(RecoveryCode.objects.filter(device__user=user).count())


@transaction.atomic
def disable(user: User, request: HttpRequest, *, by_admin: bool = False) -> None:
    """Remove the user's app and recovery codes."""
    EncryptedTOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()
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
    elif isinstance(device, RecoveryCodeDevice):
        audit.record(
            AuditKind.RECOVERY_CODE_USED,
            request=request,
            user=user,
            detail=f"{recovery_codes_left(user)} left",
        )
    return device
