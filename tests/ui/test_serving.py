"""uvicorn runs pages in a pool of threads and streams on ASGI (webmail/serving.py)."""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from django.conf import settings
from django.test import Client

from accounts.models import User
from devtools.celery_worker import base_env
from devtools.ports import free_port, wait_for_ports
from tests.fixtures.worker import _database_url
from tests.ui.mail import add_message, standard_mailbox
from webmail import door
from webmail.models import Message
from webmail.shared import events, heartbeat
from webmail.shared.heartbeat import shard_key
from webmail.views.present import folder_url, message_url

WAITING_TABS = 8
REPO = Path(__file__).resolve().parent.parent.parent


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def _get(base: str, path: str, cookie: str) -> tuple[int, str]:
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


@pytest.fixture
def no_worker(request: pytest.FixtureRequest) -> None:
    """No worker runs (one an earlier test started is stopped)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = [shard_key(f"imap.{n}") for n in range(settings.IMAP_SHARDS)]
    try:
        if client.exists(*keys):
            # The next test that needs it starts it again (the worker fixture).
            request.getfixturevalue("celery_worker").stop()
        # A worker killed a moment ago is seen until its heartbeat runs out.
        deadline = time.monotonic() + heartbeat.TTL + 2
        while client.exists(*keys) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.close()


def test_tabs_opening_mail_with_no_worker_running_hear_so_at_once(
    live_app: str, alice: User, no_worker: None
):
    # Rather than each tab holding a page thread for BODY_FETCH_TIMEOUT,
    # each is told at once (tests/ui/test_hung_server.py has a worker whose
    # mail server hangs).
    inbox = standard_mailbox(alice)["INBOX"]
    for uid in range(10, 10 + WAITING_TABS):
        add_message(inbox, uid, f"Not fetched yet {uid}")
    cookie = _session_cookie(alice)
    started = time.monotonic()
    with ThreadPoolExecutor(WAITING_TABS) as tabs:
        answers = list(
            tabs.map(
                lambda uid: _get(
                    live_app, message_url(inbox.account_id, inbox.id, uid), cookie
                ),
                range(10, 10 + WAITING_TABS),
            )
        )
    assert time.monotonic() - started < 5
    for status, page in answers:
        assert status == 200
        assert "No mail worker is running for this account" in page
    status, page = _get(live_app, folder_url(inbox.account_id, inbox.id), cookie)
    assert status == 200
    assert "Lunch on Friday?" in page


def test_a_page_and_a_file_arrive_whole_with_their_security_headers(
    live_app: str, alice: User
):
    # A page's answer goes to the event loop in one piece, a file piece by
    # piece (webmail/serving.py): both must arrive whole, with every header.
    inbox = standard_mailbox(alice)["INBOX"]
    where = urlsplit(live_app)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
    try:
        conn.request(
            "GET",
            folder_url(inbox.account_id, inbox.id),
            headers={"Cookie": _session_cookie(alice)},
        )
        page = conn.getresponse()
        body = page.read().decode()
        assert page.status == 200
        assert "Lunch on Friday?" in body and body.rstrip().endswith("</html>")
        assert "default-src 'self'" in page.getheader("Content-Security-Policy", "")
        assert page.getheader("Cache-Control") == "no-store"
        assert page.getheader("X-Frame-Options") == "DENY"
        conn.request("GET", "/static/css/mail.css")
        sheet = conn.getresponse()
        assert sheet.status == 200
        assert sheet.read() == (REPO / "static/css/mail.css").read_bytes()
    finally:
        conn.close()


def test_pages_still_answer_after_many_event_streams_came_and_went(
    live_app: str, alice: User, settings
):
    # Every page holds an event stream open; a stream must not keep a
    # database connection (with a pool of WEB_THREADS, 41 streams would
    # leave the pages none).
    # A stream learns that its page left when it next writes: soon, here.
    settings.EVENTS_KEEPALIVE = 1
    inbox = standard_mailbox(alice)["INBOX"]
    cookie = _session_cookie(alice)
    where = urlsplit(live_app)
    for _ in range(41):
        conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=30)
        conn.request(
            "GET",
            f"/events/?account={inbox.account_id}",
            headers={"Cookie": cookie, "Accept": "text/event-stream"},
        )
        answer = conn.getresponse()
        assert answer.status == 200
        assert answer.read1(100).startswith(b"retry:")
        conn.close()
    status, page = _get(live_app, folder_url(inbox.account_id, inbox.id), cookie)
    assert status == 200
    assert "Lunch on Friday?" in page


def test_pages_answer_beside_more_open_tabs_than_database_connections(
    live_app: str, alice: User, settings
):
    # Each tab below is a new session, whose first request saves it after
    # the stream's view has returned: that save must not keep a connection
    # for as long as the tab stays open. SQLite has no pool to run out of.
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        pytest.skip("only a pooled database can run out of connections")
    pool = settings.DATABASES["default"]["OPTIONS"]["pool"]
    inbox = standard_mailbox(alice)["INBOX"]
    where = urlsplit(live_app)
    tabs = []
    try:
        for _ in range(pool["max_size"] + 1):
            tab = http.client.HTTPConnection(
                where.hostname or "", where.port, timeout=30
            )
            tab.request(
                "GET",
                f"/events/?account={inbox.account_id}",
                headers={
                    "Cookie": _session_cookie(alice),
                    "Accept": "text/event-stream",
                },
            )
            answer = tab.getresponse()
            assert answer.read1(100).startswith(b"retry:")
            tabs.append(tab)
        status, page = _get(
            live_app, folder_url(inbox.account_id, inbox.id), _session_cookie(alice)
        )
        assert status == 200
        assert "Lunch on Friday?" in page
    finally:
        for tab in tabs:
            tab.close()


@pytest.mark.parametrize(
    ("module", "name"),
    [(door, "push_changes"), (events, "publish")],
    ids=["push", "event"],
)
def test_a_star_is_answered_before_the_worker_and_other_tabs_hear_of_it(
    live_app: str, alice: User, monkeypatch, module: object, name: str
):
    # A broker (or Redis) that takes its time, here until the test lets it
    # go, must not hold up the page: the worker is asked to push the change,
    # and the user's other tabs are told of it, once the page has answered.
    inbox = standard_mailbox(alice)["INBOX"]
    asked: list[int] = []
    broker_free = threading.Event()

    def slow(first: int, *args: object) -> bool:
        # Far longer than the client below waits for its answer.
        broker_free.wait(30)
        asked.append(first)
        return True

    monkeypatch.setattr(module, name, slow)
    cookie = _session_cookie(alice)
    where = urlsplit(live_app)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=5)
    try:
        conn.request(
            "GET", folder_url(inbox.account_id, inbox.id), headers={"Cookie": cookie}
        )
        answer = conn.getresponse()
        answer.read()
        token = SimpleCookie(answer.getheader("Set-Cookie"))["csrftoken"].value
        conn.request(
            "POST",
            message_url(inbox.account_id, inbox.id, 1) + "flag",
            body="flagged=1",
            headers={
                "Cookie": f"{cookie}; csrftoken={token}",
                "X-CSRFToken": token,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        answer = conn.getresponse()
        row = answer.read().decode()
        asked_by_then = list(asked)
    finally:
        conn.close()
        broker_free.set()

    assert answer.status == 200
    assert 'aria-pressed="true"' in row
    assert Message.objects.get(folder=inbox, uid=1).flagged
    assert asked_by_then == []
    deadline = time.monotonic() + 5
    while not asked and time.monotonic() < deadline:
        time.sleep(0.01)
    # push_changes is given the account; publish, the user.
    assert asked == [inbox.account_id if name == "push_changes" else alice.id]


def _pg_connections(dsn: str, name: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [name],
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
def test_a_burst_on_one_web_process_holds_no_more_connections_than_its_pool(
    transactional_db: None, alice: User, settings, tmp_path
):
    # A real uvicorn process on the test database, named in pg_stat_activity,
    # with 4 page threads: its pool may hold 4 + 2 connections.
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("counts PostgreSQL's connections")
    from django.db import connection

    name = f"burst-{uuid.uuid4().hex[:8]}"
    dsn = _database_url(connection.settings_dict)
    inbox = standard_mailbox(alice)["INBOX"]
    cookie = _session_cookie(alice)
    port = free_port()
    env = base_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"{dsn}?application_name={name}",
        REDIS_URL=settings.REDIS_URL,
        REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX,
        WEB_THREADS="4",
        # One idle connection is closed per second, down to one.
        DATABASE_POOL_MAX_IDLE="1",
    )
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "webmail.asgi:application",
             "--host=127.0.0.1", f"--port={port}", "--log-level=warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    most = 0
    done = threading.Event()

    def count() -> None:
        nonlocal most
        while not done.is_set():
            most = max(most, _pg_connections(dsn, name))
            time.sleep(0.005)

    try:
        assert wait_for_ports([port], timeout=30), (tmp_path / "web.log").read_text()
        counter = threading.Thread(target=count)
        counter.start()
        streams = []
        try:
            with ThreadPoolExecutor(24) as tabs:
                pages = [
                    tabs.submit(
                        _get, base, folder_url(inbox.account_id, inbox.id), cookie
                    )
                    for _ in range(120)
                ]
                for _ in range(8):
                    stream = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    stream.request(
                        "GET",
                        f"/events/?account={inbox.account_id}",
                        headers={"Cookie": cookie, "Accept": "text/event-stream"},
                    )
                    answer = stream.getresponse()
                    assert answer.read1(100).startswith(b"retry:")
                    streams.append(stream)
                answers = [page.result() for page in pages]
        finally:
            for stream in streams:
                stream.close()
            done.set()
            counter.join()
        assert [status for status, _ in answers] == [200] * len(answers)
        assert "Lunch on Friday?" in answers[-1][1]
        assert 4 <= most <= 6
        # The burst over, idle connections are closed, down to min_size.
        deadline = time.monotonic() + 20
        while _pg_connections(dsn, name) > 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _pg_connections(dsn, name) == 1
    finally:
        web.terminate()
        web.wait(15)
