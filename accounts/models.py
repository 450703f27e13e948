import hmac
from binascii import unhexlify
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp import models as otp_totp
from django_otp.util import random_hex

from accounts import crypto


class User(AbstractUser):
    """A person who signs in to the webmail."""

    require_2fa = models.BooleanField(
        _("require two-factor sign-in"),
        default=False,
        help_text=_("The user must set up a one-time-code app before going on."),
    )


class Security(models.TextChoices):
    SSL = "ssl", "SSL/TLS"
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", _("None (plaintext)")


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


class Identity(models.Model):
    """A From the user writes as from one mail account: name, address, signature.

    A reply is written as the identity whose address the original was sent
    to; anything else uses the account's default identity.
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="identities"
    )
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("address"))
    reply_to = models.EmailField(_("reply-to"), blank=True)
    signature = models.TextField(_("signature"), blank=True)
    # Used when writing in HTML, sanitized like outgoing mail; without it
    # the text signature is used there too.
    signature_html = models.TextField(_("signature in HTML"), blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["-is_default", "id"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


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
        help_text=_(
            "Let people sign in with this mail server's user name and "
            "password; their webmail user is created on first success."
        ),
    )

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = self.domain.strip().lower()
        super().save(*args, **kwargs)


class TrustedCertificate(models.Model):
    """A mail server's certificate an operator has checked and trusts.

    For a server whose certificate no trusted CA signed (a self-signed
    one). Connections to the host then accept exactly its trusted
    certificates, found by their SHA-256 fingerprints, and no other.
    """

    host = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    subject = models.CharField(max_length=500, blank=True)
    issuer = models.CharField(max_length=500, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    trusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host", "sha256"], name="trusted_certificate_unique"
            )
        ]
        ordering = ["host", "-created_at"]

    def __str__(self) -> str:
        return f"{self.host} {self.sha256[:16]}"


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
    SIGNIN = "signin", _("Signed in")
    SIGNIN_FAILED = "signin_failed", _("Sign-in failed")
    LOCKED_OUT = "locked_out", _("Locked out")
    SIGNOUT = "signout", _("Signed out")
    SESSIONS_ENDED = "sessions_ended", _("Sessions ended")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    TOTP_ENABLED = "totp_enabled", _("Two-factor enabled")
    TOTP_DISABLED = "totp_disabled", _("Two-factor disabled")
    TOTP_FAILED = "totp_failed", _("Two-factor code rejected")
    RECOVERY_CODE_USED = "recovery_used", _("Recovery code used")
    USER_PROVISIONED = "user_provisioned", _("User created by mail sign-in")
    MAIL_ACCOUNT_CHANGED = "mail_account", _("Mail account changed")
    CERTIFICATE_TRUSTED = "certificate", _("Mail server certificate trusted")
    ADMIN_ACTION = "admin", _("Admin action")


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


def new_sealed_totp_key() -> str:
    """A fresh random TOTP key (20 bytes, hex), encrypted."""
    return crypto.encrypt(random_hex(20))


class EncryptedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):  # type: ignore[misc]
    """An authenticator app: django-otp's TOTP device with its key encrypted.

    django-otp's own model keeps the shared secret as plain hex, which any
    database dump would reveal; here it is sealed with CREDENTIALS_KEYS like
    the mail passwords. Everything else is django-otp's.
    """

    # Declared again, without a reverse accessor: django-otp's untyped
    # manager would leave type checkers unable to resolve one.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        help_text=_("The user that this device belongs to."),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key_encrypted = models.TextField(default=new_sealed_totp_key, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):  # type: ignore[misc]
        verbose_name = _("TOTP device")

    # django-otp's verification (throttling, drift, no code used twice) and
    # enrolment URL read only the fields above and bin_key, so they are
    # borrowed rather than rewritten.
    verify_token = otp_totp.TOTPDevice.verify_token
    config_url = otp_totp.TOTPDevice.config_url
    get_throttle_factor = otp_totp.TOTPDevice.get_throttle_factor
    _read_str_from_settings = otp_totp.TOTPDevice._read_str_from_settings

    @property
    def key(self) -> str:
        """The secret as hex, as django-otp spells it."""
        return crypto.decrypt(self.key_encrypted)

    @key.setter
    def key(self, value: str) -> None:
        self.key_encrypted = crypto.encrypt(value)

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())


class RecoveryCodeDevice(ThrottlingMixin, Device):  # type: ignore[misc]
    """A user's single-use recovery codes, each stored encrypted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        help_text=_("The user that this device belongs to."),
        on_delete=models.CASCADE,
        related_name="+",
    )

    class Meta(Device.Meta):  # type: ignore[misc]
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))

    def verify_token(self, token: str) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        match = next(
            (c for c in self.codes.all() if hmac.compare_digest(c.code, str(token))),
            None,
        )
        # Deleting by id counts the rows gone, so two sign-ins racing with
        # the same code cannot both succeed.
        if match is not None and RecoveryCode.objects.filter(pk=match.pk).delete()[0]:
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False


class RecoveryCode(models.Model):
    """One recovery code, encrypted like the mail passwords."""

    device = models.ForeignKey(
        RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes"
    )
    code_encrypted = models.TextField()

    def __str__(self) -> str:
        return f"recovery code {self.pk} of {self.device}"

    @property
    def code(self) -> str:
        return crypto.decrypt(self.code_encrypted)

    @code.setter
    def code(self, value: str) -> None:
        self.code_encrypted = crypto.encrypt(value)


class MarkRead(models.TextChoices):
    """When opening a message marks it read."""

    AT_ONCE = "at_once", _("At once")
    AFTER_DELAY = "after_delay", _("After some seconds")
    NEVER = "never", _("Never")


class ComposeFormat(models.TextChoices):
    """What a new message is written in, until the user switches."""

    TEXT = "text", _("Plain text")
    HTML = "html", _("Formatted (HTML)")


class Preference(models.Model):
    """A user's reading and writing settings; users without a row have the
    defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    mark_read = models.CharField(
        _("mark messages read"),
        max_length=12,
        choices=MarkRead.choices,
        default=MarkRead.AT_ONCE,
    )
    mark_read_delay = models.PositiveSmallIntegerField(
        _("seconds before marking read"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(600)],
    )
    compose_format = models.CharField(
        _("write new messages in"),
        max_length=4,
        choices=ComposeFormat.choices,
        default=ComposeFormat.TEXT,
    )
    archive_by_year = models.BooleanField(
        _("archive into one folder per year"),
        default=False,
        help_text=_(
            "Archived messages go to Archive/2025 and so on, by the year of "
            "their date; the folders are made when first needed."
        ),
    )

    def __str__(self) -> str:
        return f"preferences of {self.user}"
