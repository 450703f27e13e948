"""Alice, Bob and Charlie: three users, each with a mail account.

Charlie should have no access to Alice's stuff, and neither should Bob.
The staff fixture is an operator. Passwords are fixed and known to tests.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import EncryptedTOTPDevice, MailAccount, User
from devtools.ports import LOOPBACK, free_port

PASSWORD = "correct horse battery staple 1"


def make_user(name: str, *, staff: bool = False) -> User:
    user = User.objects.create_user(
        username=name, email=f"{name}@example.org", password=PASSWORD
    )
    if staff:
        user.is_staff = True
        user.save()
    account = MailAccount(
        user=user,
        email=f"{name}@example.org",
        imap_host="imap.example.org",
        imap_username=f"{name}@example.org",
    )
    account.imap_password = f"mail-secret-of-{name}"
    account.save()
    return user


@pytest.fixture
def alice(db: None) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob")


@pytest.fixture
def charlie(db: None) -> User:
    return make_user("charlie")


@pytest.fixture
def staff(db: None) -> User:
    return make_user("operator", staff=True)


def sign_in(client: Client, username: str, password: str = PASSWORD) -> Any:
    """Post the sign-in form as a browser would."""
    return client.post("/accounts/login/", {"username": username, "password": password})


def totp_code(device: EncryptedTOTPDevice, offset_steps: int = 0) -> str:
    """The code an authenticator app would show (a later step if asked)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


SMTP_USER = "sender@example.org"
SMTP_PASSWORD = "smtp-pass-123"


@dataclass(frozen=True)
class SubmissionServer:
    host: str
    port: int


@pytest.fixture
def submission_server(mail_certs: Any) -> Iterator[SubmissionServer]:
    """A real SMTP submission server (aiosmtpd): STARTTLS, then AUTH.

    It presents the test CA's certificate and accepts one login,
    SMTP_USER with SMTP_PASSWORD.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(mail_certs.server_cert, mail_certs.server_key)

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode(),
            data.password.decode(),
        ) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        Sink(),
        hostname=LOOPBACK,
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        ready_timeout=10.0,
    )
    controller.start()
    try:
        yield SubmissionServer(LOOPBACK, port)
    finally:
        controller.stop()
