"""The README's start command: the demo launcher, end to end."""

import http.cookiejar
import os
import queue
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from celery import Celery
from imapclient import IMAPClient

from devtools.dovecot import make_traversable
from devtools.ports import free_port, port_open

REPO = Path(__file__).resolve().parent.parent

# The demo keeps its data in SQLite under its own folder.
pytestmark = pytest.mark.sqlite_only


def start_demo(data: Path, web_port: int, redis_port: int) -> subprocess.Popen[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        WEBMAIL_DATA_DIR=str(data),
        WEBMAIL_PORT=str(web_port),
        WEBMAIL_REDIS_PORT=str(redis_port),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "devtools.demo"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for_banner(process: subprocess.Popen[str], timeout: float = 90) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        seen.append(line)
        if "Press Ctrl-C to stop" in line:
            return "".join(seen)
    pytest.fail("The demo did not start:\n" + "".join(seen[-40:]))


def post_form(
    opener: urllib.request.OpenerDirector, base: str, path: str, fields: dict[str, str]
) -> str:
    """GET path for its CSRF token, then POST fields to it; the page it ends on."""
    page = opener.open(f"{base}{path}", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token[1]})
    request = urllib.request.Request(
        f"{base}{path}", data=form.encode(), headers={"Referer": base}
    )
    body: bytes = opener.open(request, timeout=10).read()
    return body.decode()


def signed_in(
    base: str, login: str, password: str
) -> tuple[urllib.request.OpenerDirector, str]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    fields = {"username": login, "password": password}
    return opener, post_form(opener, base, "/accounts/login/", fields)


def sign_in(base: str, login: str, password: str) -> str:
    return signed_in(base, login, password)[1]


def stop(process: subprocess.Popen[str]) -> None:
    # Ctrl-C in a terminal signals the whole foreground process group.
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    # The launcher stops its processes one by one, killing any that has not
    # stopped within 15 s, and says which took long.
    try:
        process.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        said = process.stdout.read() if process.stdout else ""
        pytest.fail(f"The demo did not stop within 90 s after Ctrl-C:\n{said}")


@pytest.fixture
def short_tmp():
    # Dovecot's socket paths must stay short, and pytest's own temporary
    # directories are too deep for them.
    path = Path(tempfile.mkdtemp(prefix="wm-demo-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_the_demo_starts_signs_in_stops_and_keeps_its_data(short_tmp):
    data = short_tmp / "var"
    data.mkdir()
    make_traversable(data)
    web_port, redis_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"

    first = start_demo(data, web_port, redis_port)
    try:
        banner = wait_for_banner(first)
        assert f"{base}/" in banner
        assert "Sign in as 'demo' with the password 'demo'" in banner
        assert "Seeding the demo mailbox" in banner
        assert "Signed in as demo" in sign_in(base, "demo", "demo")
    finally:
        stop(first)
    assert not port_open(web_port)
    assert not port_open(redis_port)

    second = start_demo(data, web_port, redis_port)
    try:
        banner = wait_for_banner(second)
        assert "Seeding" not in banner
        assert "Updated the demo user" in banner
        assert "Signed in as demo" in sign_in(base, "demo", "demo")
    finally:
        stop(second)


class Output:
    """The lines a process prints, read in a thread so waits can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        self.stdout = process.stdout
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stdout:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        pytest.fail(f"No line matched {pattern!r}:\n" + "".join(self.seen[-40:]))


def _children(pid: int) -> dict[int, str]:
    """The child processes of pid, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        # The parent's pid is the second field after the parenthesised name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = command
    return found


def _one_child(pid: int, *words: str) -> int:
    matching = [
        child
        for child, command in _children(pid).items()
        if all(word in command for word in words)
    ]
    assert len(matching) == 1, _children(pid)
    return matching[0]


def _pings(redis_port: int) -> bool:
    url = f"redis://127.0.0.1:{redis_port}/0"
    app = Celery(broker=url, backend=url)
    app.conf.update(task_serializer="json", accept_content=["json"])
    try:
        return app.send_task("webmail.ping", queue="default").get(timeout=30) == "pong"
    finally:
        app.close()


@pytest.mark.slow
def test_the_demo_restarts_a_killed_worker_and_web_server(short_tmp):
    data = short_tmp / "var"
    data.mkdir()
    make_traversable(data)
    web_port, redis_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"

    demo = start_demo(data, web_port, redis_port)
    try:
        output = Output(demo)
        output.wait_for("Press Ctrl-C to stop", timeout=90)
        worker = _one_child(demo.pid, "celery", "worker")

        os.kill(worker, signal.SIGKILL)  # as the out-of-memory killer does
        output.wait_for(
            r"^worker stopped \(exit -9, SIGKILL\); restarting in 1 s$", timeout=5
        )
        restarted = output.wait_for(r"^worker restarted \(pid (\d+)\)$", timeout=5)
        assert int(restarted[1]) != worker
        assert _one_child(demo.pid, "celery", "worker") == int(restarted[1])
        assert _pings(redis_port)
        page = urllib.request.urlopen(f"{base}/accounts/login/", timeout=10)
        assert b"csrfmiddlewaretoken" in page.read()

        web = _one_child(demo.pid, "uvicorn")
        os.kill(web, signal.SIGKILL)
        output.wait_for(r"^web server stopped \(exit -9, SIGKILL\)", timeout=5)
        output.wait_for(r"^web server restarted", timeout=5)
        deadline = time.monotonic() + 30
        while not port_open(web_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "Signed in as demo" in sign_in(base, "demo", "demo")
        assert demo.poll() is None
    finally:
        stop(demo)
    assert not port_open(web_port)
    assert not port_open(redis_port)


def _demo_inbox(data: Path, address: str, password: str) -> IMAPClient:
    """Log in to the demo Dovecot over IMAPS, as a mail app would."""
    config = (data / "dovecot" / "dovecot.conf").read_text()
    port = re.search(r"inet_listener imaps \{[^}]*port = (\d+)", config)
    assert port, config
    context = ssl.create_default_context(cafile=data / "dovecot" / "tls" / "ca.pem")
    client = IMAPClient("127.0.0.1", int(port[1]), ssl_context=context, timeout=10)
    client.login(address, password)
    client.select_folder("INBOX", readonly=True)
    return client


def _arrived(client: IMAPClient, subject: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.noop()
        if client.search(["SUBJECT", subject]):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_the_demo_delivers_between_its_users_and_keeps_other_mail(short_tmp):
    data = short_tmp / "var"
    data.mkdir()
    make_traversable(data)
    web_port, redis_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"

    demo = start_demo(data, web_port, redis_port)
    try:
        output = Output(demo)
        output.wait_for("Press Ctrl-C to stop", timeout=90)
        opener, home = signed_in(base, "demo", "demo")
        account = re.search(r'href="(/mail/[^"/]+/)"', home)
        assert account, home
        page = post_form(
            opener,
            base,
            f"{account[1]}compose/",
            {
                "to": "demo2@example.org, someone@elsewhere.test",
                "cc": "",
                "bcc": "",
                "subject": "Lunch on Friday",
                "body": "Shall we?",
            },
        )
        assert "Lunch on Friday" in page

        inbox = _demo_inbox(data, "demo2@example.org", "demo2")
        try:
            assert _arrived(inbox, "Lunch on Friday", timeout=30)
        finally:
            inbox.logout()
        kept = output.wait_for(
            r"kept, not sent: from demo@example\.org to someone@elsewhere\.test "
            r"\((.+)\)$",
            timeout=10,
        )
        assert b"Subject: Lunch on Friday" in Path(kept[1]).read_bytes()
        assert Path(kept[1]).parent == data / "kept-mail"
        assert "Signed in as demo2" in sign_in(base, "demo2", "demo2")
    finally:
        stop(demo)
