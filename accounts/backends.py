"""Sign-in backends: disabled users, and the mail server's password.

For an address in a MailDomain with sign_in_with_mail, the preset IMAP
server checks the password. On the first success the webmail user and its
mail account are created; later successes refresh the stored password, so a
password changed at the provider keeps the webmail working.

Every sign-in hashes one password, whatever the name: Django's ModelBackend
hashes a dummy for a name nobody has and for a user without a usable
password, DisabledUserBackend checks a disabled user's password once, and
MailServerBackend hashes nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from accounts import audit, hosts, mailservers
from accounts.models import AuditKind, MailAccount, MailDomain, User
from webmail.shared.prepared import Prepared

# Every signed-in request loads its user by id: compiled once, the query
# costs a tenth of what the ORM's get() spends building it.
_USER_BY_ID: Prepared[User] = Prepared(lambda pk: User.objects.filter(pk=pk))


def _preset(username: str | None, password: str | None) -> MailDomain | None:
    """The preset that lets this address sign in with its mail password."""
    if not username or not password or "@" not in username:
        return None
    domain = username.strip().lower().rpartition("@")[2]
    return MailDomain.objects.filter(domain=domain, sign_in_with_mail=True).first()


def _mail_server_accepts(preset: MailDomain, address: str, password: str) -> bool:
    try:
        hosts.check_host(preset.imap_host)
    except hosts.HostError:
        return False
    attempt = mailservers.try_imap_once(
        preset.imap_host, preset.imap_port, preset.imap_security, address, password
    )
    return attempt.ok


def is_disabled_mail_user(username: str, password: str) -> bool:
    """Whether the mail server accepts these, but the webmail user is disabled.

    Lets the sign-in page say "disabled" only to someone who knows the
    password, as it does for local passwords.
    """
    preset = _preset(username, password)
    if preset is None:
        return False
    address = username.strip().lower()
    if not User.objects.filter(username__iexact=address, is_active=False).exists():
        return False
    return _mail_server_accepts(preset, address, password)


class LocalUserBackend(ModelBackend):
    """Django's ModelBackend (local passwords), loading its user precompiled."""

    def get_user(self, user_id: int) -> User | None:
        user = _USER_BY_ID.first(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class DisabledUserBackend:
    """Stop at a disabled user's name, noting whether the password was right.

    ModelBackend would check the password only to refuse, and the sign-in
    page would check it again to tell "disabled" only to someone who knows
    it: two hashes, which made disabled names slower than any other. Here
    it is checked once, the answer left on the request for the sign-in page
    (request.signin_disabled), and PermissionDenied ends the sign-in.

    It never signs anyone in, so it has no get_user: a session never names
    it, and Client.force_login() passes it by.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        user = User.objects.filter(username=username, is_active=False).first()
        if user is None:
            return None
        right = user.check_password(password)
        if request is not None:
            request.signin_disabled = right  # type: ignore[attr-defined]
        raise PermissionDenied


class MailServerBackend(BaseBackend):
    """Authenticate "name@domain" against the domain's preset IMAP server."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        preset = _preset(username, password)
        if preset is None or not username or not password:
            return None
        address = username.strip().lower()
        existing = User.objects.filter(username__iexact=address).first()
        if existing is not None and not existing.is_active:
            return None
        if not _mail_server_accepts(preset, address, password):
            return None
        return self._provision(request, address, password, preset, existing)

    @transaction.atomic
    def _provision(
        self,
        request: HttpRequest | None,
        address: str,
        password: str,
        preset: MailDomain,
        user: User | None,
    ) -> User:
        if user is None:
            user = User(username=address, email=address)
            user.set_unusable_password()
            user.save()
            audit.record(AuditKind.USER_PROVISIONED, request=request, user=user)
        account = MailAccount.objects.filter(
            user=user, imap_host=preset.imap_host, imap_username=address
        ).first()
        if account is None:
            account = MailAccount(
                user=user,
                email=address,
                imap_host=preset.imap_host,
                imap_port=preset.imap_port,
                imap_security=preset.imap_security,
                imap_username=address,
                smtp_host=preset.smtp_host,
                smtp_port=preset.smtp_port,
                smtp_security=preset.smtp_security,
                smtp_username=address if preset.smtp_host else "",
            )
        account.imap_password = password
        account.save()
        return user

    def get_user(self, user_id: int) -> User | None:
        user = _USER_BY_ID.first(user_id)
        return user if user is not None and user.is_active else None
