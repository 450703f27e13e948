"""The connection pool: the per-account cap, reuse, reconnects and reaping."""

from __future__ import annotations

import threading
import time

import pytest

from tests.imap import message, open_session
from webmail.imap import (
    ConnectionLost,
    ConnectionPool,
    ConnectSettings,
    PoolExhausted,
    ServerUnreachable,
)
from webmail.imap.pool import open_session as pool_opener


def _settings(user):
    def provide() -> ConnectSettings:
        return ConnectSettings(
            host=user.server.host,
            port=user.server.imap_port,
            security="starttls",
            username=user.username,
            password=user.password,
            ca_file=str(user.server.ca_cert_path),
            timeout=10,
        )

    return provide


class CountingOpener:
    """Opens real sessions and counts them."""

    def __init__(self) -> None:
        self.opened = 0
        self.lock = threading.Lock()

    def __call__(self, settings):
        with self.lock:
            self.opened += 1
        return pool_opener(settings)


def test_twenty_threads_never_exceed_the_cap(imap_user) -> None:
    opener = CountingOpener()
    pool = ConnectionPool(max_command=2, wait_timeout=60, opener=opener)
    settings = _settings(imap_user)
    server = imap_user.server
    most_seen = 0
    in_use = 0
    most_in_use = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        nonlocal in_use, most_in_use
        try:
            with pool.session("alice", settings) as session:
                with lock:
                    in_use += 1
                    most_in_use = max(most_in_use, in_use)
                session.select("INBOX")
                time.sleep(0.05)
                with lock:
                    in_use -= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        most_seen = max(most_seen, server.who(imap_user.username))
    for thread in threads:
        thread.join()

    assert errors == []
    assert most_in_use == 2
    assert 1 <= most_seen <= 2
    assert opener.opened == 2, "connections are reused, not reopened"
    assert pool.open_count("alice") == 2
    pool.close_all()
    assert pool.open_count("alice") == 0
    assert server.who(imap_user.username) == 0


def test_a_busy_pool_times_out_with_a_retryable_error(imap_user) -> None:
    pool = ConnectionPool(max_command=1, wait_timeout=0.3)
    settings = _settings(imap_user)
    try:
        with pool.session("alice", settings):
            failure: list[PoolExhausted] = []

            def other() -> None:
                try:
                    with pool.session("alice", settings):
                        pass
                except PoolExhausted as exc:
                    failure.append(exc)

            thread = threading.Thread(target=other)
            thread.start()
            thread.join()
            assert failure and failure[0].retryable
        # Another account has its own connections.
        with pool.session("bob", settings), pool.session("bob", settings, idle=True):
            assert pool.open_count("bob") == 1
            assert pool.open_count("bob", idle=True) == 1
    finally:
        pool.close_all()


def test_killed_server_is_connection_lost_then_the_pool_reconnects(
    imap_user,
) -> None:
    server = imap_user.server
    pool = ConnectionPool(max_command=1)
    settings = _settings(imap_user)
    try:
        with pool.session("alice", settings) as session:
            session.append("INBOX", message("kept"))
            session.select("INBOX")
        server.kill()
        with (
            pytest.raises(ConnectionLost) as caught,
            pool.session("alice", settings) as session,
        ):
            session.search_uids("ALL")
        assert caught.value.retryable
        assert pool.open_count("alice") == 0
        with pytest.raises(ServerUnreachable), pool.session("alice", settings):
            pass
        server.start()
        with pool.session("alice", settings) as session:
            session.select("INBOX")
            assert session.search_uids("ALL") == [1]
    finally:
        pool.close_all()
        if not server.running:
            server.start()


def test_on_open_hears_of_each_new_login_not_of_a_reused_connection(
    imap_user,
) -> None:
    opened: list[object] = []
    pool = ConnectionPool(max_command=1, check_after=0, on_open=opened.append)
    settings = _settings(imap_user)
    try:
        with pool.session("alice", settings) as session:
            first = session
        with pool.session("alice", settings):
            pass
        assert opened == ["alice"]
        first.close()  # dropped meanwhile: the next loan logs in afresh
        with pool.session("alice", settings):
            pass
        assert opened == ["alice", "alice"]
    finally:
        pool.close_all()


def test_a_dropped_idle_connection_is_noticed_before_it_is_lent(imap_user) -> None:
    pool = ConnectionPool(max_command=1, check_after=0)
    settings = _settings(imap_user)
    try:
        with pool.session("alice", settings) as session:
            first = session
        first.close()  # as if the server had timed it out meanwhile
        with pool.session("alice", settings) as session:
            assert session is not first
            assert session.select("INBOX").exists == 0
    finally:
        pool.close_all()


def test_reap_closes_connections_idle_too_long(imap_user) -> None:
    pool = ConnectionPool(max_command=2, max_idle=0.2)
    settings = _settings(imap_user)
    server = imap_user.server
    try:
        with pool.session("alice", settings), pool.session("alice", settings):
            pass
        assert pool.reap() == 0
        assert server.who(imap_user.username) == 2
        time.sleep(0.3)
        assert pool.reap() == 2
        assert pool.open_count("alice") == 0
        assert server.who(imap_user.username) == 0
    finally:
        pool.close_all()


def test_a_session_left_idling_is_returned_usable(imap_user) -> None:
    pool = ConnectionPool()
    settings = _settings(imap_user)
    try:
        with pool.session("alice", settings, idle=True) as session:
            session.select("INBOX")
            session.idle_start()
        with pool.session("alice", settings, idle=True) as again:
            assert again is session and not again.idling
            assert again.noop() == []
    finally:
        pool.close_all()


def test_direct_sessions_are_independent_of_the_pool(imap_user) -> None:
    session = open_session(imap_user)
    session.logout()
    assert not session.usable
    with pytest.raises(ConnectionLost):
        session.noop()


def test_a_connection_with_the_folder_open_is_lent_first(imap_user) -> None:
    pool = ConnectionPool(max_command=2, wait_timeout=10)
    settings = _settings(imap_user)
    opened = threading.Barrier(2)
    selected: dict[str, object] = {}

    def hold(folder: str) -> None:
        # Two threads at once: two connections, one per folder.
        with pool.session("acct", settings) as session:
            session.open_folder(folder)
            selected[folder] = session
            opened.wait(10)

    threads = [threading.Thread(target=hold, args=(f,)) for f in ("INBOX", "Trash")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        for folder in ("Trash", "INBOX", "Trash"):
            with pool.session("acct", settings, folder=folder) as session:
                assert session is selected[folder]
                assert session.selected == folder
    finally:
        pool.close_all()
