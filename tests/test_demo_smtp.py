"""The demo's mail server: logins and delivery through the demo Dovecot."""

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from devtools.demo_smtp import DemoDelivery, start_relay
from devtools.dovecot import DovecotServer
from devtools.ports import free_port
from tests.fixtures.servers import ca_context


@pytest.fixture
def relay(dovecot: DovecotServer, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    delivery = DemoDelivery(dovecot.config_path, "example.org", tmp_path / "kept")
    controller = start_relay(
        delivery, port, dovecot.server_cert_path, dovecot.server_key_path
    )
    yield port
    controller.stop()


def _client(dovecot: DovecotServer, port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.starttls(context=ca_context(dovecot))
    return client


def _message(sender: str, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content("Hello.")
    return message


def test_it_asks_for_starttls_and_a_login_dovecot_accepts(relay, imap_user, dovecot):
    plain = smtplib.SMTP("127.0.0.1", relay, timeout=10)
    with pytest.raises(smtplib.SMTPException):
        plain.login(imap_user.username, imap_user.password)
    plain.close()
    client = _client(dovecot, relay)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(imap_user.username, "not the password")
    client.close()
    client = _client(dovecot, relay)
    client.login(imap_user.username, imap_user.password)
    client.quit()


def test_it_delivers_to_a_demo_user_and_refuses_unknown_ones(
    relay, make_imap_user, dovecot, other_device
):
    alice, bob = make_imap_user(), make_imap_user()
    client = _client(dovecot, relay)
    client.login(alice.username, alice.password)
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        client.send_message(_message(alice.username, "nobody@example.org", "Lost"))
    client.send_message(_message(alice.username, bob.username, "Hello Bob"))
    client.quit()

    phone = other_device(bob)
    phone.select_folder("INBOX")
    assert phone.search(["SUBJECT", "Hello Bob"])


def test_it_keeps_mail_for_other_domains(relay, imap_user, dovecot, tmp_path, capsys):
    client = _client(dovecot, relay)
    client.login(imap_user.username, imap_user.password)
    client.send_message(_message(imap_user.username, "carol@elsewhere.test", "Hi"))
    client.quit()

    (kept,) = (tmp_path / "kept").iterdir()
    assert b"Subject: Hi" in kept.read_bytes()
    out = capsys.readouterr().out
    assert f"kept, not sent: from {imap_user.username} to carol@elsewhere.test" in out


def test_a_password_that_starts_with_a_dash_is_a_password(relay, dovecot, imap_user):
    # doveadm would read "-…" as an option, not the password.
    dovecot.add_user(imap_user.username, "-starts-with-a-dash")
    time.sleep(1.1)  # Dovecot reads a changed passwd-file at most once a second.
    client = _client(dovecot, relay)
    client.login(imap_user.username, "-starts-with-a-dash")
    client.quit()
