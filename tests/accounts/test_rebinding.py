"""DNS rebinding, end to end: a changing answer never reaches a private address.

The name server is the one thing simulated: socket.getaddrinfo, in this
process only, answers REBINDING_NAME with 127.0.0.3 for its first look-ups
and with 127.0.0.1 after that, as a hostile DNS server with a zero TTL
would. The admin allows 127.0.0.3 (nothing listens there) but not 127.0.0.1,
where a real listener counts every connection it receives. Whichever
look-up the answer changes at, every path that connects to a user-typed
host (the connection test for IMAP and SMTP, the IMAP engine, sign-in with
the mail password) must leave the listener untouched. A control shows that
the listener does count a connection that gets through.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from accounts import mailservers
from accounts.models import MailAccount, MailDomain, User
from tests.accounts.conftest import sign_in
from webmail.engine import connections
from webmail.imap import ImapError

REBINDING_NAME = "mail.rebinding.test"
ALLOWED = "127.0.0.3"  # allowed by the admin; nothing listens here
PRIVATE = "127.0.0.1"  # not allowed; the listener is here


@dataclass
class Listener:
    """A TCP server on the private address that counts who got through."""

    port: int
    connections: list[str] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.create_server((PRIVATE, 0))
    server.settimeout(0.2)
    found = Listener(server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            found.connections.append(peer[0])
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(5)
    server.close()


@pytest.fixture
def rebinding_dns(monkeypatch) -> Callable[[int], list[str]]:
    """Make REBINDING_NAME answer ALLOWED for `honest` look-ups, then PRIVATE.

    Returns the list of answers given, in order.
    """
    real = socket.getaddrinfo

    def install(honest: int) -> list[str]:
        answers: list[str] = []

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host != REBINDING_NAME:
                return real(host, port, *args, **kwargs)
            address = ALLOWED if len(answers) < honest else PRIVATE
            answers.append(address)
            number = int(port) if port else 0
            return [
                (
                    socket.AF_INET,
                    socket.SOCK_STREAM,
                    socket.IPPROTO_TCP,
                    "",
                    (address, number),
                )
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return answers

    return install


@pytest.fixture
def admin_allows_only_the_first_answer(settings, mail_certs):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = [ALLOWED]
    settings.MAIL_CA_FILE = str(mail_certs.ca_cert)
    settings.MAIL_CONNECT_TIMEOUT = 2
    return settings


# The answer turns private after this many look-ups: every step of every
# path is a place it may turn.
HONEST_ANSWERS = [1, 2, 3, 4, 5]


@pytest.mark.django_db
@pytest.mark.usefixtures("admin_allows_only_the_first_answer")
@pytest.mark.parametrize("honest", HONEST_ANSWERS)
def test_the_connection_test_never_reaches_the_rebound_address(
    alice: User, listener: Listener, rebinding_dns, honest: int
):
    client = Client()
    sign_in(client, "alice")
    answers = rebinding_dns(honest)
    response = client.post(
        "/accounts/mail/add/",
        {
            "action": "save",
            "email": "alice@rebinding.test",
            "imap_host": REBINDING_NAME,
            "imap_port": listener.port,
            "imap_password": "mail-password-1",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200  # not saved
    assert "refused the connection" in page or "private or local address" in page
    assert answers, "the name was never looked up"
    assert listener.connections == []
    assert not MailAccount.objects.filter(imap_host=REBINDING_NAME).exists()


@pytest.mark.django_db  # for the certificates an operator trusts
@pytest.mark.usefixtures("admin_allows_only_the_first_answer")
@pytest.mark.parametrize("honest", HONEST_ANSWERS)
def test_the_smtp_test_never_reaches_the_rebound_address(
    listener: Listener, rebinding_dns, honest: int
):
    answers = rebinding_dns(honest)
    result = mailservers.probe_smtp(REBINDING_NAME, listener.port, "u", "p")
    assert not result.ok
    assert answers
    assert listener.connections == []


@pytest.mark.django_db
@pytest.mark.usefixtures("admin_allows_only_the_first_answer")
@pytest.mark.parametrize("honest", HONEST_ANSWERS)
def test_the_imap_engine_never_reaches_the_rebound_address(
    alice: User, listener: Listener, rebinding_dns, honest: int
):
    account = MailAccount(
        user=alice,
        email="alice@rebinding.test",
        imap_host=REBINDING_NAME,
        imap_port=listener.port,
        imap_security="ssl",
        imap_username="alice@rebinding.test",
    )
    account.imap_password = "mail-password-1"
    account.save()
    connections.close_pool()  # no connection left by an earlier test under this id
    answers = rebinding_dns(honest)
    try:
        for _ in range(2):  # a retry on a fresh connection looks up again
            with pytest.raises(ImapError):
                connections.with_session(account.id, lambda s: s.capabilities)
    finally:
        connections.close_pool()
    assert answers
    assert listener.connections == []


@pytest.mark.django_db
@pytest.mark.usefixtures("admin_allows_only_the_first_answer")
@pytest.mark.parametrize("honest", HONEST_ANSWERS)
def test_sign_in_with_the_mail_password_never_reaches_the_rebound_address(
    listener: Listener, rebinding_dns, honest: int
):
    MailDomain.objects.create(
        domain="rebinding.test",
        imap_host=REBINDING_NAME,
        imap_port=listener.port,
        sign_in_with_mail=True,
    )
    answers = rebinding_dns(honest)
    response = sign_in(Client(), "carol@rebinding.test", "mail-password-1")
    assert response.status_code == 200
    assert answers
    assert listener.connections == []
    assert not User.objects.filter(username="carol@rebinding.test").exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("admin_allows_only_the_first_answer")
def test_the_listener_counts_a_connection_the_admin_allows(
    alice: User, listener: Listener, rebinding_dns, settings
):
    # The control: were the rebound address allowed, the connection test
    # would reach it, and the listener would say so.
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = [ALLOWED, PRIVATE]
    rebinding_dns(1)
    result = mailservers.probe_imap(REBINDING_NAME, listener.port, "u", "p")
    assert not result.ok  # the listener speaks no IMAP
    assert PRIVATE in listener.connections
