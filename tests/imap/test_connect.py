"""Connecting: TLS checks, certificate pinning, login and error mapping."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from devtools.ports import free_port
from devtools.tls import cert_fingerprint, generate_certificates
from tests.imap import open_session
from webmail.imap import (
    AuthenticationFailed,
    ServerUnreachable,
    Timeout,
    TlsError,
    connect,
    normalise_fingerprint,
)


def _server_fingerprint(user) -> str:
    return cert_fingerprint(user.server.server_cert_path)


def test_it_logs_in_over_starttls_and_reads_capabilities(imap_user) -> None:
    session = open_session(imap_user)
    try:
        assert session.capabilities.has("condstore")
        assert session.qresync and session.condstore
        assert session.list_folders(with_status=False)
    finally:
        session.logout()
    assert not session.usable


def test_it_logs_in_over_implicit_tls_with_compression(imap_user) -> None:
    session = open_session(imap_user, security="ssl", compress=True)
    try:
        assert session.compressed
        names = {f.name for f in session.list_folders()}
        assert {"INBOX", "Sent", "Trash"} <= names
        session.select("INBOX")
        assert session.noop() == []
    finally:
        session.logout()


def test_reduced_server_gets_no_sync_extensions(imap_user_reduced) -> None:
    session = open_session(imap_user_reduced, compress=True)
    try:
        assert not session.capabilities.has("QRESYNC")
        assert not (session.qresync or session.condstore or session.compressed)
    finally:
        session.logout()


def test_wrong_password_is_authentication_failed(imap_user) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        open_session(imap_user, password="not-" + imap_user.password)
    assert not caught.value.retryable
    assert imap_user.server.host in str(caught.value)


def test_closed_port_is_unreachable_and_retryable(imap_user) -> None:
    with pytest.raises(ServerUnreachable) as caught:
        open_session(imap_user, port=free_port())
    assert caught.value.retryable
    assert "refused" in str(caught.value)


def test_unknown_host_name_is_reported_by_name() -> None:
    with pytest.raises(ServerUnreachable, match=r"Could not resolve mail\.invalid"):
        connect(
            "mail.invalid",
            993,
            security="ssl",
            username="someone",
            password="secret",
            timeout=5,
        )


def test_a_server_that_never_greets_is_a_timeout(imap_user) -> None:
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        port = silent.getsockname()[1]
        with pytest.raises(Timeout) as caught:
            open_session(imap_user, security="starttls", port=port, timeout=0.5)
    finally:
        silent.close()
    assert caught.value.retryable
    assert f"port {port}" in str(caught.value)


def test_certificate_from_another_ca_is_refused(imap_user, tmp_path: Path) -> None:
    other = generate_certificates(tmp_path / "other")
    with pytest.raises(TlsError) as caught:
        open_session(imap_user, ca_file=str(other.ca_cert))
    assert not caught.value.retryable
    assert "not trusted" in str(caught.value)


def test_system_trust_store_does_not_know_the_test_ca(imap_user) -> None:
    with pytest.raises(TlsError):
        open_session(imap_user, security="ssl", ca_file=None)


def test_pinned_fingerprint_accepts_exactly_that_certificate(imap_user) -> None:
    pinned = _server_fingerprint(imap_user).upper()
    spelled = ":".join(pinned[i : i + 2] for i in range(0, 64, 2))
    for security in ("ssl", "starttls"):
        session = open_session(
            imap_user, security=security, ca_file=None, fingerprint_sha256=spelled
        )
        session.logout()


def test_pinned_fingerprint_refuses_another_certificate(imap_user) -> None:
    wrong = cert_fingerprint(imap_user.server.ca_cert_path)
    for security in ("ssl", "starttls"):
        with pytest.raises(TlsError, match="does not match"):
            open_session(imap_user, security=security, fingerprint_sha256=wrong)
    # The password never reached the server: nobody is logged in.
    assert imap_user.server.who(imap_user.username) == 0


def test_fingerprint_spellings_are_normalised() -> None:
    digest = "ab" * 32
    assert normalise_fingerprint("SHA256:" + ":".join(["AB"] * 32)) == digest
    with pytest.raises(ValueError):
        normalise_fingerprint("ab:cd")
