"""The README's start command: the demo launcher, end to end."""

import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from devtools.dovecot import make_traversable
from devtools.ports import free_port, port_open

REPO = Path(__file__).resolve().parent.parent


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


def sign_in(base: str, login: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token, page
    form = urllib.parse.urlencode(
        {"username": login, "password": password, "csrfmiddlewaretoken": token[1]}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=form, headers={"Referer": base}
    )
    body: bytes = opener.open(request, timeout=10).read()
    return body.decode()


def stop(process: subprocess.Popen[str]) -> None:
    # Ctrl-C in a terminal signals the whole foreground process group.
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
    process.wait(30)


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
