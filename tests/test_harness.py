"""The real-server harness: Dovecot, Redis, SMTP and Chromium behave as promised."""

from __future__ import annotations

import contextlib
import email.utils
import imaplib
import smtplib
import ssl
import time
from pathlib import Path

import imapclient
import pytest
import redis
from imapclient.exceptions import IMAPClientError, LoginError

from devtools.dovecot import DovecotError, DovecotServer, start_dovecot
from devtools.tls import cert_fingerprint, fingerprint_of_der, generate_certificates
from tests.fixtures.servers import ImapUser, ca_context

SYNC_EXTENSIONS = {b"CONDSTORE", b"QRESYNC", b"IDLE", b"MOVE", b"SORT"}
REDUCED_ABSENT = SYNC_EXTENSIONS | {b"ESEARCH", b"LIST-STATUS", b"COMPRESS=DEFLATE"}


def _message(subject: str, body: bytes = b"Hello.\r\n") -> bytes:
    return (
        f"From: sender@example.org\r\nTo: user@example.org\r\n"
        f"Subject: {subject}\r\nDate: {email.utils.formatdate()}\r\n"
        f"Message-ID: {email.utils.make_msgid()}\r\n\r\n"
    ).encode() + body


def _caps(text: str) -> set[bytes]:
    return set(text.upper().encode().split())


def _has_thread(capabilities: tuple[bytes, ...]) -> bool:
    return any(cap.startswith(b"THREAD=") for cap in capabilities)


def _login_imaps(user: ImapUser) -> imapclient.IMAPClient:
    server = user.server
    client = imapclient.IMAPClient(
        server.host, port=server.imaps_port, ssl_context=ca_context(server)
    )
    client.login(user.username, user.password)
    return client


def _own_dovecot(workdir: Path, allow_plaintext_auth: bool = False) -> DovecotServer:
    return start_dovecot(workdir / "dovecot", allow_plaintext_auth=allow_plaintext_auth)


# TLS and login -----------------------------------------------------------


def test_starttls_login_checks_the_certificate(imap_user: ImapUser) -> None:
    """The plain port refuses LOGIN from a remote client until STARTTLS."""
    server = imap_user.server
    client = imapclient.IMAPClient(server.remote_host, port=server.imap_port, ssl=False)
    try:
        before = client.capabilities()
        assert b"STARTTLS" in before
        assert b"LOGINDISABLED" in before
        with pytest.raises(LoginError):
            client.login(imap_user.username, imap_user.password)
        client.starttls(ca_context(server))
        assert b"LOGINDISABLED" not in client.capabilities()
        client.login(imap_user.username, imap_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.shutdown()


def test_starttls_on_the_main_address(imap_user: ImapUser) -> None:
    server = imap_user.server
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False)
    try:
        client.starttls(ca_context(server))
        client.login(imap_user.username, imap_user.password)
    finally:
        client.shutdown()


def test_imaps_login_checks_the_certificate(imap_user: ImapUser) -> None:
    client = _login_imaps(imap_user)
    try:
        assert client.list_folders(pattern="INBOX")
    finally:
        client.logout()


def test_wrong_password_is_refused(imap_user: ImapUser) -> None:
    server = imap_user.server
    client = imapclient.IMAPClient(
        server.host, port=server.imaps_port, ssl_context=ca_context(server)
    )
    try:
        with pytest.raises(LoginError):
            client.login(imap_user.username, "not the password")
    finally:
        client.shutdown()


def test_another_ca_is_not_trusted(imap_user: ImapUser, tmp_path: Path) -> None:
    server = imap_user.server
    stranger = generate_certificates(tmp_path / "other-ca")
    context = ssl.create_default_context(cafile=str(stranger.ca_cert))
    with pytest.raises(ssl.SSLCertVerificationError):
        imapclient.IMAPClient(server.host, port=server.imaps_port, ssl_context=context)
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False)
    with pytest.raises(ssl.SSLCertVerificationError):
        client.starttls(context)
    with contextlib.suppress(OSError):  # the failed handshake closed it
        client.shutdown()


def test_one_ca_trusts_every_test_server(
    dovecot: DovecotServer, dovecot_reduced: DovecotServer, mail_certs
) -> None:
    assert dovecot.ca_cert_path == mail_certs.ca_cert
    assert dovecot_reduced.ca_cert_path == mail_certs.ca_cert
    context = ssl.create_default_context(cafile=str(mail_certs.ca_cert))
    for server in (dovecot, dovecot_reduced):
        imapclient.IMAPClient(
            server.host, port=server.imaps_port, ssl_context=context
        ).shutdown()


def test_fingerprint_matches_what_the_server_presents(dovecot: DovecotServer) -> None:
    context = ssl.create_default_context(cafile=str(dovecot.ca_cert_path))
    client = imapclient.IMAPClient(
        dovecot.host, port=dovecot.imaps_port, ssl_context=context
    )
    try:
        der = client.socket().getpeercert(binary_form=True)
    finally:
        client.shutdown()
    expected = cert_fingerprint(dovecot.server_cert_path)
    assert fingerprint_of_der(der) == expected
    assert fingerprint_of_der(der) != cert_fingerprint(dovecot.ca_cert_path)


def test_plaintext_login_can_be_allowed(dovecot_workdir: Path) -> None:
    with _own_dovecot(dovecot_workdir, allow_plaintext_auth=True) as server:
        server.add_user("plain@example.org", "secret")
        client = imapclient.IMAPClient(
            server.remote_host, port=server.imap_port, ssl=False
        )
        assert b"LOGINDISABLED" not in client.capabilities()
        client.login("plain@example.org", "secret")
        client.logout()


# Mailbox layout ------------------------------------------------------------


def test_special_use_folders_exist_and_are_subscribed(
    imap_user: ImapUser, other_device
) -> None:
    phone = other_device(imap_user)
    flags_by_name = {name: set(flags) for flags, _, name in phone.list_folders()}
    assert flags_by_name["Drafts"] >= {b"\\Drafts"}
    assert flags_by_name["Sent"] >= {b"\\Sent"}
    assert flags_by_name["Trash"] >= {b"\\Trash"}
    assert flags_by_name["Junk"] >= {b"\\Junk"}
    assert flags_by_name["Archive"] >= {b"\\Archive"}
    subscribed = {name for _, _, name in phone.list_sub_folders()}
    assert {"Drafts", "Sent", "Trash", "Junk", "Archive"} <= subscribed


def test_full_variant_offers_sync_extensions(imap_user: ImapUser) -> None:
    server = imap_user.server
    client = imapclient.IMAPClient(
        server.host, port=server.imaps_port, ssl_context=ca_context(server)
    )
    try:
        client.login(imap_user.username, imap_user.password)
        after = client.capabilities()
        assert set(after) >= SYNC_EXTENSIONS | {b"ESEARCH", b"LIST-STATUS"}
        assert {b"SPECIAL-USE", b"COMPRESS=DEFLATE", b"QUOTA"} <= set(after)
        assert _has_thread(after)
        assert client.namespace().personal[0][1] == "/"
        assert server.delimiter == "/"
        client.create_folder("Projects/2026")
        names = {name for _, _, name in client.list_folders("Projects/*")}
        assert names == {"Projects/2026"}
    finally:
        client.logout()
    on_disk = imap_user.server.maildir(imap_user.username) / ".Projects.2026"
    assert on_disk.is_dir(), "Maildir++ keeps folders as dot-separated dirs"


def test_reduced_variant_hides_sync_extensions(imap_user_reduced: ImapUser) -> None:
    """Neither the greeting, nor the LOGIN reply, nor CAPABILITY lists them."""
    server = imap_user_reduced.server
    # imaplib rather than imapclient: it keeps the capabilities that come
    # with the LOGIN reply, which clients use without asking again.
    conn = imaplib.IMAP4(server.host, server.imap_port, timeout=30)
    try:
        before = _caps(" ".join(conn.capabilities))
        assert b"STARTTLS" in before
        assert not before & REDUCED_ABSENT
        assert not _has_thread(tuple(before))
        conn.starttls(ca_context(server))
        conn.login(imap_user_reduced.username, imap_user_reduced.password)
        (sent_on_login,) = conn.untagged_responses.pop("CAPABILITY")
        assert isinstance(sent_on_login, bytes)
        on_login = _caps(sent_on_login.decode())
        assert b"IMAP4REV1" in on_login
        assert not on_login & REDUCED_ABSENT
        answer = conn.capability()[1][0]
        assert isinstance(answer, bytes)
        after = _caps(answer.decode())
        assert after == on_login
        assert {b"UIDPLUS", b"SPECIAL-USE", b"QUOTA"} <= after
        assert not _has_thread(tuple(after))
        namespace = conn.namespace()[1][0]
        assert isinstance(namespace, bytes)
        assert namespace.startswith(b'(("" ".")')
        assert server.delimiter == "."
    finally:
        conn.logout()


# Quota -------------------------------------------------------------------


def test_quota_is_reported_and_enforced(make_imap_user, other_device) -> None:
    user = make_imap_user(quota_mb=1)
    phone = other_device(user)
    phone.append("INBOX", _message("small", b"x" * 10_000))
    roots, quotas = phone.get_quota_root("INBOX")
    assert roots.mailbox == "INBOX"
    assert roots.quota_roots == ["User quota"]
    (storage,) = [q for q in quotas if q.resource == "STORAGE"]
    assert storage.quota_root == "User quota"
    assert storage.limit == 1024
    assert storage.usage >= 9  # KiB, the message just stored

    with pytest.raises(IMAPClientError, match=r"\[OVERQUOTA\]"):
        phone.append("INBOX", _message("too big", b"x" * 1_200_000))
    phone.select_folder("INBOX")
    assert len(phone.search()) == 1


def test_default_quota_applies_to_users_without_their_own(
    imap_user: ImapUser, other_device
) -> None:
    phone = other_device(imap_user)
    _, quotas = phone.get_quota_root("INBOX")
    assert [q.limit for q in quotas if q.resource == "STORAGE"] == [200 * 1024]


# Connections, mail on disk, restarts ----------------------------------------


def test_who_counts_open_connections(imap_user: ImapUser, other_device) -> None:
    server = imap_user.server
    assert server.who(imap_user.username) == 0
    other_device(imap_user)
    other_device(imap_user)
    assert server.who(imap_user.username) == 2


def test_mail_written_into_the_maildir_is_seen(
    imap_user: ImapUser, other_device
) -> None:
    server = imap_user.server
    phone = other_device(imap_user)
    phone.select_folder("INBOX")  # creates the Maildir
    new = server.maildir(imap_user.username) / "new"
    path = new / f"{int(time.time())}.harness.localhost"
    path.write_bytes(_message("dropped in"))
    server.chown_mail(path)
    assert path.stat().st_uid == server.mail_uid
    phone.noop()
    uids = phone.search(["SUBJECT", "dropped in"])
    assert len(uids) == 1


def test_restart_and_second_run_keep_users_and_mail(dovecot_workdir: Path) -> None:
    server = _own_dovecot(dovecot_workdir)
    try:
        server.add_user("keep@example.org", "pw")
        user = ImapUser("keep@example.org", "pw", server)
        client = _login_imaps(user)
        client.append("INBOX", _message("kept"))
        ports = (server.imap_port, server.imaps_port)

        server.restart()
        assert (server.imap_port, server.imaps_port) == ports
        with pytest.raises((OSError, IMAPClientError)):
            client.noop()
        client = _login_imaps(user)
        client.select_folder("INBOX")
        assert len(client.search(["SUBJECT", "kept"])) == 1

        server.kill()
        with pytest.raises(ConnectionRefusedError):
            _login_imaps(user)
        server.start()
        client = _login_imaps(user)
        client.logout()
    finally:
        server.stop()

    again = start_dovecot(dovecot_workdir / "dovecot")
    try:
        client = _login_imaps(ImapUser("keep@example.org", "pw", again))
        client.select_folder("INBOX")
        assert len(client.search(["SUBJECT", "kept"])) == 1
        client.logout()
        assert again.ca_cert_path.read_bytes() == server.ca_cert_path.read_bytes()
    finally:
        again.stop()


def test_a_failed_start_reports_dovecots_log(dovecot: DovecotServer) -> None:
    with pytest.raises(DovecotError, match=r"(?s)did not start.*already running"):
        start_dovecot(dovecot.workdir)
    # The running instance is untouched: it still serves on its own ports.
    assert dovecot.running
    dovecot.restart()
    client = imapclient.IMAPClient(
        dovecot.host, port=dovecot.imaps_port, ssl_context=ca_context(dovecot)
    )
    client.shutdown()


def test_private_workdir_is_refused(tmp_path: Path) -> None:
    """A directory the mail account cannot enter fails early, saying why."""
    private = tmp_path / "p"
    private.mkdir(mode=0o700)
    with pytest.raises(DovecotError, match="cannot enter"):
        start_dovecot(private / "d")


def test_changed_password_works_at_once(imap_user: ImapUser) -> None:
    server = imap_user.server
    server.add_user(imap_user.username, "the new password")
    with pytest.raises(LoginError):
        _login_imaps(imap_user)
    _login_imaps(ImapUser(imap_user.username, "the new password", server)).logout()


# Redis and SMTP -----------------------------------------------------------


def test_redis_restart_keeps_the_port_and_drops_data(
    redis_server, redis_prefix: str
) -> None:
    assert redis_server.port != 6379
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.set(redis_prefix + "key", "value")
        port = redis_server.port
        redis_server.restart()
        assert redis_server.port == port
        # redis-py reconnects on the next command after a dropped connection.
        assert client.get(redis_prefix + "key") is None
        assert client.ping()
    finally:
        client.close()


def test_redis_kill_then_start(redis_server) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        redis_server.kill()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        redis_server.start()
        assert client.ping()
    finally:
        client.close()


def test_smtp_server_records_messages(smtp_outbox) -> None:
    raw = _message("hello smtp")
    with smtplib.SMTP(smtp_outbox.host, smtp_outbox.port, timeout=10) as smtp:
        smtp.sendmail("from@example.org", ["a@example.org", "b@example.org"], raw)
    (received,) = smtp_outbox.messages
    assert received.mail_from == "from@example.org"
    assert received.rcpt_tos == ("a@example.org", "b@example.org")
    assert b"Subject: hello smtp" in received.data
    smtp_outbox.clear()
    assert smtp_outbox.messages == []


# Browser -------------------------------------------------------------------


@pytest.mark.browser
def test_browser_renders_a_page(page) -> None:
    page.set_content("<title>Harness</title><p id='greeting'>Hello, browser</p>")
    assert page.title() == "Harness"
    assert page.inner_text("#greeting") == "Hello, browser"
