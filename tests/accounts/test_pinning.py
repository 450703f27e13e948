"""DNS rebinding: connections go to the address that was checked.

A name that resolves to a public address when checked and to a private one
when connecting cannot be made here without a DNS server of our own, so
these tests show the parts instead: the check returns the addresses, every
connection path (IMAP engine, connection test, SMTP) connects to addresses
it is given rather than to the name, and TLS is still verified against the
name. The test servers listen on 127.0.0.1 (and Dovecot on 127.0.0.2);
nothing listens on 127.0.0.3.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

import pytest

from accounts import hosts, mailservers
from accounts.models import MailAccount, User
from devtools.ports import LOOPBACK
from tests.accounts.conftest import SMTP_PASSWORD, SMTP_USER
from webmail import imap
from webmail.engine import connections

NOBODY = "127.0.0.3"


def imap_login(user, host: str, security: str, addresses: list[str]):
    server = user.server
    return imap.connect(
        host,
        server.imaps_port if security == "ssl" else server.imap_port,
        security=security,
        username=user.username,
        password=user.password,
        ca_file=str(server.ca_cert_path),
        timeout=5.0,
        addresses=addresses,
    )


def test_the_check_connects_to_an_address_it_checked(settings):
    listener = socket.create_server((LOOPBACK, 0))
    port = listener.getsockname()[1]
    try:
        with pytest.raises(hosts.HostNotAllowed):
            hosts.check_host("localhost", port)
        settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["localhost"]
        checked = hosts.check_host("localhost", port)
        assert ipaddress.ip_address(LOOPBACK) in checked
        with hosts.connect_to(checked, port, 2.0) as sock:
            peer = ipaddress.ip_address(sock.getpeername()[0])
        assert peer in checked
    finally:
        listener.close()


def test_a_connection_goes_to_the_given_address_not_the_name():
    listener = socket.create_server((LOOPBACK, 0))
    port = listener.getsockname()[1]
    try:
        with pytest.raises(ConnectionRefusedError):
            hosts.connect_to([ipaddress.ip_address(NOBODY)], port, 2.0)
        # The first address that answers is used.
        with hosts.connect_to([NOBODY, LOOPBACK], port, 2.0) as sock:
            assert sock.getpeername()[0] == LOOPBACK
    finally:
        listener.close()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_connects_to_the_checked_address(imap_user, security: str):
    # The name resolves to the server, but the pinned address is dead.
    with pytest.raises(imap.ServerUnreachable):
        imap_login(imap_user, LOOPBACK, security, [NOBODY])
    session = imap_login(imap_user, "localhost", security, [NOBODY, LOOPBACK])
    session.logout()


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_imap_verifies_tls_against_the_name_not_the_address(imap_user, security: str):
    # The certificate names 127.0.0.1, where the connection goes, but not
    # 127.0.0.3, the name asked for.
    with pytest.raises(imap.TlsError, match="not trusted"):
        imap_login(imap_user, NOBODY, security, [LOOPBACK])


@pytest.mark.django_db
def test_the_imap_engine_connects_to_the_addresses_it_checked(
    alice: User, imap_user, settings
):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["localhost"]
    settings.MAIL_CA_FILE = str(imap_user.server.ca_cert_path)
    account = MailAccount(
        user=alice,
        email=imap_user.address,
        imap_host="localhost",
        imap_port=imap_user.server.imap_port,
        imap_security="starttls",
        imap_username=imap_user.username,
    )
    account.imap_password = imap_user.password
    account.save()
    checked = [str(a) for a in hosts.check_host("localhost", account.imap_port)]
    found = connections.connect_settings(account.pk)
    assert list(found.addresses) == checked
    assert connections.with_session(account.pk, lambda s: s.capabilities)


def test_smtp_connects_to_the_checked_address_and_verifies_the_name(
    submission_server, mail_certs
):
    port = submission_server.port
    context = ssl.create_default_context(cafile=str(mail_certs.ca_cert))
    with pytest.raises(ConnectionRefusedError):
        mailservers.PinnedSMTP(
            LOOPBACK, port, [ipaddress.ip_address(NOBODY)], timeout=5.0
        )
    client = mailservers.PinnedSMTP(
        NOBODY, port, [ipaddress.ip_address(LOOPBACK)], timeout=5.0
    )
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(context=context)
    client.close()
    client = mailservers.PinnedSMTP(
        "localhost", port, [ipaddress.ip_address(LOOPBACK)], timeout=5.0
    )
    client.starttls(context=context)
    client.login(SMTP_USER, SMTP_PASSWORD)
    client.quit()


@pytest.mark.django_db
def test_the_connection_test_refuses_a_private_host_on_its_own(settings):
    # try_*_once check the host themselves: no caller can skip the check.
    for attempt in (
        mailservers.try_imap_once("127.0.0.1", 993, "ssl", "u", "p"),
        mailservers.try_smtp_once("127.0.0.1", 465, "ssl", "u", "p"),
    ):
        assert not attempt.ok
        assert "private or local address" in attempt.message
