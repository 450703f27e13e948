from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts import crypto


class User(AbstractUser):
    """A person who signs in to the webmail."""

    require_2fa = models.BooleanField(
        "require two-factor sign-in",
        default=False,
        help_text="The user must set up a one-time-code app before going on.",
    )


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", "None (plaintext)"


class MailAccount(models.Model):
    """The mail-server settings a provider gives a user: server, port, login."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_accounts"
    )
    email = models.EmailField()
    imap_host = models.CharField(max_length=255)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(
        max_length=10, choices=Security.choices, default=Security.SSL
    )
    imap_username = models.CharField(max_length=255)
    imap_password_encrypted = models.TextField(blank=True)
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=465)
    smtp_security = models.CharField(
        max_length=10, choices=Security.choices, default=Security.SSL
    )
    smtp_username = models.CharField(max_length=255, blank=True)
    smtp_password_encrypted = models.TextField(blank=True)
    # A server certificate the admin chose to trust (SHA-256, hex), for
    # servers with self-signed certificates.
    tls_fingerprint = models.CharField(max_length=95, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.email

    @property
    def imap_password(self) -> str:
        return crypto.decrypt(self.imap_password_encrypted)

    @imap_password.setter
    def imap_password(self, value: str) -> None:
        self.imap_password_encrypted = crypto.encrypt(value)

    @property
    def smtp_password(self) -> str:
        if not self.smtp_password_encrypted:
            return self.imap_password
        return crypto.decrypt(self.smtp_password_encrypted)

    @smtp_password.setter
    def smtp_password(self, value: str) -> None:
        self.smtp_password_encrypted = crypto.encrypt(value) if value else ""


class MailDomain(models.Model):
    """Server settings an admin presets for one mail domain.

    A user whose address is in this domain types only the address and the
    password. With sign_in_with_mail, the mail server's password also signs
    the user in to the webmail, creating the user on first success.
    """

    domain = models.CharField(max_length=253, unique=True)
    imap_host = models.CharField(max_length=255)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(
        max_length=10, choices=Security.choices, default=Security.SSL
    )
    smtp_host = models.CharField(max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(default=465)
    smtp_security = models.CharField(
        max_length=10, choices=Security.choices, default=Security.SSL
    )
    sign_in_with_mail = models.BooleanField(
        default=False,
        help_text="Let people sign in with this mail server's user name and "
        "password; their webmail user is created on first success.",
    )

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class UserSession(models.Model):
    """A signed-in browser session, so a user can see and end their sessions."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions"
    )
    session_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.user} from {self.ip or 'unknown address'}"


class AuditKind(models.TextChoices):
    SIGNIN = "signin", "Signed in"
    SIGNIN_FAILED = "signin_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out"
    SIGNOUT = "signout", "Signed out"
    SESSIONS_ENDED = "sessions_ended", "Sessions ended"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    TOTP_ENABLED = "totp_enabled", "Two-factor enabled"
    TOTP_DISABLED = "totp_disabled", "Two-factor disabled"
    TOTP_FAILED = "totp_failed", "Two-factor code rejected"
    RECOVERY_CODE_USED = "recovery_used", "Recovery code used"
    USER_PROVISIONED = "user_provisioned", "User created by mail sign-in"
    MAIL_ACCOUNT_CHANGED = "mail_account", "Mail account changed"
    ADMIN_ACTION = "admin", "Admin action"


class AuditEvent(models.Model):
    """One security event. Holds names and addresses, never secrets."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=AuditKind.choices, db_index=True)
    # The user the event is about; the name is kept when the user is deleted.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True, db_index=True)
    # Who did it, when that is not the user (an admin).
    actor = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.kind} {self.username}"
