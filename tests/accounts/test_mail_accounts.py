"""Mail-account settings against a real Dovecot: each failure says what failed."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from django.test import Client

from accounts import mailservers
from accounts.models import MailAccount, MailDomain, User
from devtools.ports import free_port
from tests.accounts.conftest import SMTP_PASSWORD, SMTP_USER, sign_in
from webmail import imap
from webmail.engine import connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def mail_settings(settings, mail_certs):
    """Trust the test CA and allow the loopback test servers."""
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.MAIL_CA_FILE = str(mail_certs.ca_cert)
    settings.MAIL_CONNECT_TIMEOUT = 5
    return settings


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    sign_in(client, "alice")
    return client


def add(client: Client, **fields: object):
    data = {"action": "save", **{k: v for k, v in fields.items() if v is not None}}
    return client.post("/accounts/mail/add/", data)


def test_it_saves_settings_that_work_over_implicit_tls(
    alice_client, imap_user, mail_settings
):
    server = imap_user.server
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imaps_port,
        imap_password=imap_user.password,
    )
    assert response.status_code == 302
    account = MailAccount.objects.get(email=imap_user.address)
    assert (account.imap_port, account.imap_security) == (server.imaps_port, "ssl")
    assert account.imap_username == imap_user.address
    assert account.imap_password == imap_user.password


def test_it_finds_starttls_when_tls_does_not_answer(
    alice_client, imap_user, mail_settings
):
    server = imap_user.server
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imap_port,
        imap_password=imap_user.password,
    )
    assert response.status_code == 302
    account = MailAccount.objects.get(email=imap_user.address)
    assert account.imap_security == "starttls"


def test_a_wrong_password_is_named_and_nothing_is_saved(
    alice_client, imap_user, mail_settings
):
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password="not-the-password",
    )
    page = response.content.decode()
    assert "refused the username or password" in page
    assert "not-the-password" not in page
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_an_unknown_host_is_named(alice_client, mail_settings):
    response = add(
        alice_client,
        email="alice@example.org",
        imap_host="no-such-host.invalid",
        imap_password="x",
    )
    assert "Could not resolve no-such-host.invalid" in response.content.decode()


def test_a_refused_port_is_named(alice_client, mail_settings):
    port = free_port()
    response = add(
        alice_client,
        email="alice@example.org",
        imap_host="127.0.0.1",
        imap_port=port,
        imap_password="x",
    )
    assert f"refused the connection on port {port}" in response.content.decode()


def test_an_untrusted_certificate_is_named(alice_client, imap_user, mail_settings):
    mail_settings.MAIL_CA_FILE = None
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
    )
    assert "certificate of 127.0.0.1 is not trusted" in response.content.decode()
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_an_untrusted_certificate_on_a_starttls_port_is_what_is_said(
    alice_client, imap_user, mail_settings
):
    # A port number of its own: implicit TLS is tried first, and fails
    # because the server greets in plain text there.
    mail_settings.MAIL_CA_FILE = None
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imap_port,
        imap_password=imap_user.password,
    )
    # The headline above the list of attempts.
    headline = response.context["outcome"].imap.message
    assert "certificate of 127.0.0.1 is not trusted" in headline
    assert "WRONG_VERSION_NUMBER" not in response.content.decode()
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and then never says anything."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def test_a_server_that_never_answers_is_a_timeout(
    alice_client, mail_settings, silent_server
):
    mail_settings.MAIL_CONNECT_TIMEOUT = 1
    response = add(
        alice_client,
        email="alice@example.org",
        imap_host="127.0.0.1",
        imap_port=silent_server,
        imap_password="x",
    )
    assert "did not answer" in response.content.decode()


@pytest.mark.parametrize("probe", [mailservers.probe_imap, mailservers.probe_smtp])
def test_a_port_that_never_answers_costs_one_timeout(
    mail_settings, silent_server, probe
):
    # TLS, STARTTLS and (allowed here) no encryption on one port: once it has
    # said nothing, the other two would only make the user wait twice more.
    mail_settings.MAIL_CONNECT_TIMEOUT = 1
    mail_settings.MAIL_ALLOWED_PLAINTEXT_HOSTS = ["127.0.0.1"]
    result = probe("127.0.0.1", silent_server, "alice", "x")
    assert [a.problem for a in result.attempts] == ["timeout"]
    assert "did not answer" in result.message


def test_a_private_host_needs_the_admin(alice_client, imap_user, mail_settings):
    mail_settings.MAIL_ALLOWED_PRIVATE_HOSTS = []
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
    )
    assert "a private or local address" in response.content.decode()


def test_a_preset_domain_needs_only_address_and_password(
    alice_client, imap_user, mail_settings
):
    server = imap_user.server
    MailDomain.objects.create(
        domain="example.org", imap_host=server.host, imap_port=server.imaps_port
    )
    response = add(
        alice_client, email=imap_user.address, imap_password=imap_user.password
    )
    assert response.status_code == 302
    account = MailAccount.objects.get(email=imap_user.address)
    assert account.imap_host == server.host


def test_the_test_button_checks_the_saved_settings(
    alice_client, alice, imap_user, mail_settings
):
    server = imap_user.server
    account = MailAccount(
        user=alice,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imaps_port,
        imap_username=imap_user.username,
    )
    account.imap_password = imap_user.password
    account.save()
    page = alice_client.post(f"/accounts/mail/{account.id}/test/").content.decode()
    assert "Signed in to 127.0.0.1" in page
    assert imap_user.password not in page


def test_an_edit_with_an_empty_password_keeps_the_stored_one(
    alice_client, alice, imap_user, mail_settings
):
    server = imap_user.server
    account = MailAccount(
        user=alice,
        email=imap_user.address,
        imap_host=server.host,
        imap_port=server.imaps_port,
        imap_username=imap_user.username,
    )
    account.imap_password = imap_user.password
    account.save()
    response = alice_client.post(
        f"/accounts/mail/{account.id}/",
        {
            "action": "save",
            "email": imap_user.address,
            "imap_host": server.host,
            "imap_port": server.imap_port,
            "imap_username": imap_user.username,
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.imap_security == "starttls"
    assert account.imap_password == imap_user.password


def test_smtp_without_starttls_is_named(
    alice_client, imap_user, mail_settings, smtp_server
):
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
    )
    page = response.content.decode()
    assert f"does not offer STARTTLS on port {smtp_server.port}" in page
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_sign_in_with_the_mail_password_creates_the_user(imap_user, mail_settings):
    server = imap_user.server
    MailDomain.objects.create(
        domain="example.org",
        imap_host=server.host,
        imap_port=server.imaps_port,
        sign_in_with_mail=True,
    )
    client = Client()
    assert sign_in(client, imap_user.address, "wrong").status_code == 200
    assert not User.objects.filter(username=imap_user.address).exists()
    response = sign_in(client, imap_user.address, imap_user.password)
    assert response.status_code == 302
    user = User.objects.get(username=imap_user.address)
    assert not user.has_usable_password()
    account = MailAccount.objects.get(user=user)
    assert account.imap_password == imap_user.password
    assert client.get("/").status_code == 200


def test_it_saves_smtp_settings_that_work_over_starttls(
    alice_client, imap_user, mail_settings, submission_server
):
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
        smtp_host=submission_server.host,
        smtp_port=submission_server.port,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    assert response.status_code == 302
    account = MailAccount.objects.get(email=imap_user.address)
    assert (account.smtp_port, account.smtp_security) == (
        submission_server.port,
        "starttls",
    )
    assert account.smtp_username == SMTP_USER
    assert account.smtp_password == SMTP_PASSWORD


def test_a_wrong_smtp_password_is_named(
    alice_client, imap_user, mail_settings, submission_server
):
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
        smtp_host=submission_server.host,
        smtp_port=submission_server.port,
        smtp_username=SMTP_USER,
        smtp_password="wrong",
    )
    page = response.content.decode()
    assert "127.0.0.1 refused the username or password" in page
    assert "Outgoing (SMTP)" in page


def test_the_test_button_alone_saves_nothing(alice_client, imap_user, mail_settings):
    response = alice_client.post(
        "/accounts/mail/add/",
        {
            "action": "test",
            "email": imap_user.address,
            "imap_host": imap_user.server.host,
            "imap_port": imap_user.server.imaps_port,
            "imap_password": imap_user.password,
        },
    )
    assert "Signed in to 127.0.0.1" in response.content.decode()
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_plaintext_is_tried_only_where_the_admin_allows_it(mail_settings):
    from accounts.mailservers import _candidates

    assert all(sec != "none" for _, sec in _candidates(None, 993, 143, "h.example"))
    mail_settings.MAIL_ALLOWED_PLAINTEXT_HOSTS = ["h.example"]
    assert (143, "none") in _candidates(None, 993, 143, "h.example")


def test_a_stored_plaintext_setting_is_refused_once_disallowed(
    alice, mail_settings, silent_server
):
    from accounts import mailaccounts

    account = MailAccount.objects.get(user=alice)
    account.imap_host = "127.0.0.1"
    account.imap_port = silent_server
    account.imap_security = "none"
    account.save()
    outcome = mailaccounts.test_account(account)
    assert not outcome.ok
    assert "without TLS would expose the password" in outcome.imap.message


def test_no_password_reaches_the_logs_while_testing(
    alice_client, imap_user, mail_settings, caplog
):
    caplog.set_level(logging.DEBUG)
    add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imap_port,
        imap_password="wrong-imap-secret",
    )
    add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imap_port,
        imap_password=imap_user.password,
    )
    assert "wrong-imap-secret" not in caplog.text
    assert imap_user.password not in caplog.text


def test_a_disabled_user_of_mail_sign_in_is_told_so(imap_user, mail_settings):
    server = imap_user.server
    MailDomain.objects.create(
        domain="example.org",
        imap_host=server.host,
        imap_port=server.imaps_port,
        sign_in_with_mail=True,
    )
    assert sign_in(Client(), imap_user.address, imap_user.password).status_code == 302
    User.objects.filter(username=imap_user.address).update(is_active=False)

    client = Client()
    page = sign_in(client, imap_user.address, imap_user.password).content.decode()
    assert "This account has been disabled" in page
    assert client.get("/").status_code == 302
    # A wrong password learns nothing about the account.
    page = sign_in(Client(), imap_user.address, "wrong").content.decode()
    assert "The user name or password is wrong." in page


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port where nothing listens (held bound, never listening)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    yield holder.getsockname()[1]
    holder.close()


def test_the_usual_ports_are_tried_in_order():
    assert (mailservers.IMAPS_PORT, mailservers.IMAP_PORT) == (993, 143)
    assert (mailservers.SMTPS_PORT, mailservers.SUBMISSION_PORT) == (465, 587)


def test_an_empty_imap_port_tries_implicit_tls_then_starttls(
    alice_client, imap_user, mail_settings, monkeypatch, dead_port
):
    # The test Dovecot cannot sit on 993 and 143: the usual ports are moved
    # to a port where nothing answers (for 993) and Dovecot's (for 143).
    monkeypatch.setattr(mailservers, "IMAPS_PORT", dead_port)
    monkeypatch.setattr(mailservers, "IMAP_PORT", imap_user.server.imap_port)
    response = alice_client.post(
        "/accounts/mail/add/",
        {
            "action": "test",
            "email": imap_user.address,
            "imap_host": imap_user.server.host,
            "imap_password": imap_user.password,
        },
    )
    attempts = response.context["outcome"].imap.attempts
    assert [(a.port, a.security, a.problem) for a in attempts] == [
        (dead_port, "ssl", "refused"),
        (imap_user.server.imap_port, "starttls", ""),
    ]
    assert "Signed in to 127.0.0.1" in response.content.decode()


def test_an_empty_smtp_port_tries_implicit_tls_then_submission(
    alice_client, imap_user, mail_settings, submission_server, monkeypatch, dead_port
):
    monkeypatch.setattr(mailservers, "SMTPS_PORT", dead_port)
    monkeypatch.setattr(mailservers, "SUBMISSION_PORT", submission_server.port)
    response = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
        smtp_host=submission_server.host,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    assert response.status_code == 302
    account = MailAccount.objects.get(email=imap_user.address)
    assert (account.smtp_port, account.smtp_security) == (
        submission_server.port,
        "starttls",
    )


def test_plaintext_connects_only_where_the_admin_allows_it(
    imap_user, mail_settings, monkeypatch
):
    server = imap_user.server
    connects: list[str] = []
    real_connect = imap.connect

    def counted(*args, **kwargs):
        connects.append(kwargs["security"])
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(imap, "connect", counted)
    refused = mailservers.try_imap_once(
        server.host, server.imap_port, "none", imap_user.username, imap_user.password
    )
    assert not refused.ok
    assert "without TLS would expose the password" in refused.message
    assert connects == []  # refused before any connection

    mail_settings.MAIL_ALLOWED_PLAINTEXT_HOSTS = [server.host]
    allowed = mailservers.try_imap_once(
        server.host, server.imap_port, "none", imap_user.username, imap_user.password
    )
    assert allowed.ok, allowed.message
    assert connects == ["none"]


def test_the_imap_engine_refuses_what_the_admin_has_not_allowed(
    alice, imap_user, mail_settings
):
    account = MailAccount.objects.get(user=alice)
    account.imap_host = imap_user.server.host
    account.imap_port = imap_user.server.imap_port
    account.imap_security = "none"
    account.save()
    with pytest.raises(connections.AccountUnusable, match="without TLS"):
        connections.connect_settings(account.id)
    account.imap_security = "starttls"
    account.save()
    assert connections.connect_settings(account.id).addresses == ("127.0.0.1",)
    mail_settings.MAIL_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(connections.AccountUnusable, match="private or local address"):
        connections.connect_settings(account.id)


def test_the_same_mailbox_twice_is_refused(alice_client, imap_user, mail_settings):
    fields = {
        "email": imap_user.address,
        "imap_host": imap_user.server.host,
        "imap_port": imap_user.server.imaps_port,
        "imap_password": imap_user.password,
    }
    add(alice_client, **fields)
    again = add(alice_client, **fields).content.decode()

    assert "You have added this mailbox already" in again
    assert MailAccount.objects.filter(email=imap_user.address).count() == 1


def test_the_password_stays_in_the_form_after_a_test(
    alice_client, imap_user, mail_settings
):
    page = alice_client.post(
        "/accounts/mail/add/",
        {
            "action": "test",
            "email": imap_user.address,
            "imap_host": imap_user.server.host,
            "imap_port": imap_user.server.imaps_port,
            "imap_password": imap_user.password,
        },
    ).content.decode()
    assert f'value="{imap_user.password}"' in page
    assert not MailAccount.objects.filter(email=imap_user.address).exists()


def test_the_test_says_which_of_imap_and_smtp_works(
    alice_client, imap_user, mail_settings
):
    # A wrong IMAP password, and an SMTP port where nothing listens.
    page = add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password="wrong",
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
    ).content.decode()
    assert "Outgoing (SMTP)" in page
    assert "refused the connection" in page


def test_removing_an_account_asks_first_and_says_the_mail_stays(
    alice_client, imap_user, mail_settings
):
    add(
        alice_client,
        email=imap_user.address,
        imap_host=imap_user.server.host,
        imap_port=imap_user.server.imaps_port,
        imap_password=imap_user.password,
    )
    account = MailAccount.objects.get(email=imap_user.address)
    url = f"/accounts/mail/{account.id}/delete/"

    asked = alice_client.get(url).content.decode()

    assert "Your mail stays on the mail server." in asked
    assert MailAccount.objects.filter(id=account.id).exists()
    alice_client.post(url)
    assert not MailAccount.objects.filter(id=account.id).exists()
