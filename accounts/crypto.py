"""Encryption of stored mail-server passwords.

The keys come from settings.CREDENTIALS_KEYS (newest first) and never from
SECRET_KEY, so a database dump, or a leaked SECRET_KEY, does not reveal them.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialError(Exception):
    """A stored password could not be decrypted with any configured key."""


def _fernet() -> MultiFernet:
    keys = settings.CREDENTIALS_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "Set CREDENTIALS_KEYS to one or more Fernet keys (newest first)."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"CREDENTIALS_KEYS holds a bad key: {exc}") from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialError("The stored password cannot be decrypted.") from None


def rotate(token: str) -> str:
    """Re-encrypt a token under the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialError("The stored password cannot be decrypted.") from None
