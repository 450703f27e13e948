from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from accounts import crypto


class User(AbstractUser):
    """A person who signs in to the webmail."""


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
