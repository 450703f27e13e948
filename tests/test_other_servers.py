"""The Cyrus and Courier test servers behave as the real ones do.

What the webmail's server-facing tests rely on (tests.fixtures.servers
every_server): certificates of the test CA on both ports, real passwords,
a quota, and each server's own layout and extensions.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path

import imapclient
import pytest
from imapclient.exceptions import LoginError

from devtools.courier import start_courier
from devtools.imapserver import session_members
from tests.fixtures.servers import ImapUser, ca_context

pytestmark = [pytest.mark.slow, pytest.mark.other_servers]


@pytest.fixture(params=["cyrus", "courier"])
def other_user(request: pytest.FixtureRequest) -> ImapUser:
    user: ImapUser = request.getfixturevalue(f"imap_user_{request.param}")
    return user


def _login(user: ImapUser, password: str | None = None) -> imapclient.IMAPClient:
    server = user.server
    client = imapclient.IMAPClient(
        server.host, port=server.imaps_port, ssl_context=ca_context(server)
    )
    client.login(user.username, password or user.password)
    return client


def test_both_ports_present_the_test_cas_certificate(other_user: ImapUser) -> None:
    server = other_user.server
    client = imapclient.IMAPClient(server.host, port=server.imap_port, ssl=False)
    try:
        client.starttls(ca_context(server))
        client.login(other_user.username, other_user.password)
        assert client.select_folder("INBOX")[b"EXISTS"] == 0
    finally:
        client.shutdown()
    _login(other_user).logout()


def test_a_wrong_password_is_refused(other_user: ImapUser) -> None:
    with pytest.raises(LoginError):
        _login(other_user, "not the password")


def test_each_server_keeps_its_own_layout(cyrus, courier, make_imap_user) -> None:
    on_cyrus = _login(make_imap_user(server=cyrus))
    on_courier = _login(make_imap_user(server=courier))
    try:
        assert on_cyrus.namespace().personal == (("", "/"),)
        assert on_courier.namespace().personal == (("INBOX.", "."),)
        cyrus_caps = set(on_cyrus.capabilities())
        courier_caps = set(on_courier.capabilities())
        assert {b"CONDSTORE", b"QRESYNC", b"MOVE", b"SPECIAL-USE"} <= cyrus_caps
        assert not {b"CONDSTORE", b"QRESYNC", b"MOVE", b"SPECIAL-USE"} & courier_caps
        assert b"IDLE" in courier_caps
        trash = [f for f in on_cyrus.list_folders() if f[2] == "Trash"]
        assert b"\\Trash" in trash[0][0]
        names = {f[2] for f in on_courier.list_sub_folders()}
        assert {"INBOX.Trash", "INBOX.Sent", "INBOX.Drafts"} <= names
        # Courier's SELECT answer has no UIDNEXT (the webmail asks STATUS).
        assert b"UIDNEXT" not in on_courier.select_folder("INBOX")
    finally:
        on_cyrus.logout()
        on_courier.logout()


def test_the_quota_is_as_set(every_server, make_imap_user) -> None:
    user = make_imap_user(server=every_server, quota_mb=7)
    client = _login(user)
    try:
        roots = client.get_quota_root("INBOX")[1]
        assert roots and roots[0].resource == "STORAGE"
        assert roots[0].limit == 7 * 1024
    finally:
        client.logout()


def test_a_stopped_courier_leaves_no_process(mail_certs, dovecot_workdir: Path) -> None:
    # Its listeners leave the process group; its session is still its own.
    server = start_courier(dovecot_workdir, tls_dir=mail_certs.ca_cert.parent)
    user = ImapUser(f"u-{uuid.uuid4().hex[:8]}@example.org", "pw-12345", server)
    server.add_user(user.username, user.password)
    client = _login(user)
    session = server._process.pid if server._process else 0
    assert session_members(session)
    server.stop()
    with contextlib.suppress(OSError):
        client.shutdown()
    assert session_members(session) == []
