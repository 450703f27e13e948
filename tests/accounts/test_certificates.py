"""A mail server's untrusted certificate: shown to the user, trusted by an operator.

Against the real Dovecot and submission server of the test harness, whose
certificates the test CA signed: without MAIL_CA_FILE nothing trusts them,
as with a self-signed certificate on a company's own server.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import mailservers
from accounts.models import AuditEvent, AuditKind, MailAccount, TrustedCertificate, User
from devtools.tls import cert_fingerprint
from tests.accounts.conftest import sign_in
from tests.fixtures.servers import SUBMISSION_LOGIN
from webmail.engine import folderlist
from webmail.models import Folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def untrusted(settings):
    """Loopback servers allowed, but no CA that signed their certificates."""
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.MAIL_CA_FILE = None
    settings.MAIL_CONNECT_TIMEOUT = 5
    return settings


def signed_in(user: User) -> Client:
    client = Client()
    sign_in(client, user.username)
    return client


def add_account(client: Client, imap_user) -> object:
    return client.post(
        "/accounts/mail/add/",
        {
            "action": "save",
            "email": imap_user.address,
            "imap_host": imap_user.server.host,
            "imap_port": imap_user.server.imaps_port,
            "imap_password": imap_user.password,
        },
    )


def colons(sha256: str) -> str:
    return ":".join(sha256[i : i + 2] for i in range(0, 64, 2)).upper()


def test_the_user_sees_the_certificate_that_failed(alice, imap_user, untrusted):
    page = add_account(signed_in(alice), imap_user).content.decode()

    presented = cert_fingerprint(imap_user.server.server_cert_path)
    assert colons(presented) in page
    assert "CN=" in page  # subject and issuer
    # Only an operator may trust it; the user is told whom to ask.
    assert "Trust this certificate" not in page
    assert "send this fingerprint to your administrator" in page
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_an_operator_trusts_it_and_then_the_account_works(staff, imap_user, untrusted):
    operator = signed_in(staff)
    page = add_account(operator, imap_user).content.decode()
    assert "Trust this certificate for 127.0.0.1" in page
    presented = cert_fingerprint(imap_user.server.server_cert_path)

    answer = operator.post(
        "/manage/certificates/trust/",
        {
            "host": "127.0.0.1",
            "port": imap_user.server.imaps_port,
            "security": "ssl",
            "protocol": "imap",
            "sha256": presented,
            "next": "/accounts/mail/add/",
        },
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/accounts/mail/add/"
    assert TrustedCertificate.objects.get(host="127.0.0.1").sha256 == presented
    assert AuditEvent.objects.filter(kind=AuditKind.CERTIFICATE_TRUSTED).exists()

    add_account(operator, imap_user)
    account = MailAccount.objects.get(email=imap_user.address)
    # The worker connects to it the same way.
    folderlist.sync_folder_list(account.id)
    assert Folder.objects.filter(account=account, name="INBOX").exists()


def test_a_fingerprint_the_server_does_not_present_is_not_trusted(
    staff, imap_user, untrusted
):
    answer = signed_in(staff).post(
        "/manage/certificates/trust/",
        {
            "host": "127.0.0.1",
            "port": imap_user.server.imaps_port,
            "security": "ssl",
            "protocol": "imap",
            "sha256": "ab" * 32,
        },
        follow=True,
    )
    assert "presents another certificate" in answer.content.decode()
    assert not TrustedCertificate.objects.exists()


def test_a_user_who_is_not_an_operator_cannot_trust_one(alice, imap_user, untrusted):
    answer = signed_in(alice).post(
        "/manage/certificates/trust/",
        {
            "host": "127.0.0.1",
            "port": imap_user.server.imaps_port,
            "security": "ssl",
            "protocol": "imap",
            "sha256": cert_fingerprint(imap_user.server.server_cert_path),
        },
    )
    assert answer.status_code == 403
    assert not TrustedCertificate.objects.exists()


def test_a_replaced_certificate_is_refused_and_shown(staff, imap_user, untrusted):
    # What was trusted before the server got a new certificate.
    TrustedCertificate.objects.create(host="127.0.0.1", sha256="cd" * 32)

    result = mailservers.probe_imap(
        "127.0.0.1", imap_user.server.imaps_port, imap_user.username, imap_user.password
    )

    assert not result.ok
    assert "does not match the trusted fingerprint" in result.message
    shown = result.attempts[0].certificate
    assert shown is not None
    assert shown.sha256 == cert_fingerprint(imap_user.server.server_cert_path)


def test_stopping_trust_makes_the_server_untrusted_again(staff, imap_user, untrusted):
    presented = cert_fingerprint(imap_user.server.server_cert_path)
    trusted = TrustedCertificate.objects.create(host="127.0.0.1", sha256=presented)
    port = imap_user.server.imaps_port
    login = (imap_user.username, imap_user.password)
    assert mailservers.probe_imap("127.0.0.1", port, *login).ok

    operator = signed_in(staff)
    listed = operator.get("/manage/certificates/").content.decode()
    assert presented in listed
    operator.post(f"/manage/certificates/{trusted.id}/remove/")

    assert not TrustedCertificate.objects.exists()
    assert not mailservers.probe_imap("127.0.0.1", port, *login).ok


def test_an_smtp_server_certificate_is_trusted_the_same_way(
    staff, submission_outbox, mail_certs, untrusted
):
    port = submission_outbox.port
    refused = mailservers.probe_smtp("127.0.0.1", port, *SUBMISSION_LOGIN)
    assert not refused.ok
    shown = next(a.certificate for a in refused.attempts if a.certificate)
    assert shown.sha256 == cert_fingerprint(mail_certs.server_cert)

    signed_in(staff).post(
        "/manage/certificates/trust/",
        {
            "host": "127.0.0.1",
            "port": port,
            "security": shown.security,
            "protocol": "smtp",
            "sha256": shown.sha256,
        },
    )

    assert mailservers.probe_smtp("127.0.0.1", port, *SUBMISSION_LOGIN).ok
