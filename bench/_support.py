"""The engine benchmark's stack and mailboxes, HTTP client, timing and statistics."""

from __future__ import annotations

import http.client
import os
import re
import ssl
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from imapclient import IMAPClient

from bench._procs import stop_process
from devtools.celery_worker import REPO, CeleryWorker, base_env
from devtools.dovecot import DovecotServer, start_dovecot
from devtools.ports import free_port, wait_for_ports
from devtools.redis_server import RedisServer, start_redis

PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway test account
SHARDS = 4
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    """What one request answered."""

    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Client:
    """A keep-alive HTTP/1.1 connection with its own cookies, like one browser tab."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    _conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        return self._conn

    def copy(self) -> Client:
        """Return a new connection sharing this one's session cookies."""
        return Client(self.host, self.port, dict(self.cookies))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Referer"] = f"http://{self.host}:{self.port}/"
            if "csrftoken" in self.cookies:
                sent["X-CSRFToken"] = self.cookies["csrftoken"]
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=sent)
                answer = conn.getresponse()
                data = answer.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.close()
                if attempt == 2:
                    raise
        for name, value in answer.getheaders():
            if name.lower() == "set-cookie":
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
        names = {k.lower(): v for k, v in answer.getheaders()}
        return Response(answer.status, names, data.decode(errors="replace"))

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> Response:
        return self.request("POST", path, form=form, headers=headers)

    def sign_in(self, login: str, password: str) -> None:
        page = self.get("/accounts/login/").body
        token = CSRF_FIELD.search(page)
        if token is None:
            raise RuntimeError("The sign-in page has no CSRF token.")
        answer = self.post(
            "/accounts/login/",
            {"username": login, "password": password, "csrfmiddlewaretoken": token[1]},
        )
        if answer.status != 302:
            raise RuntimeError(f"Sign-in failed ({answer.status}).")


def path_of(url: str) -> str:
    """Return the path (and query) of a URL or a path."""
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def millis(run: Callable[[], object]) -> float:
    """Return how long run() took, in milliseconds."""
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def poll(check: Callable[[], object], timeout: float, interval: float = 0.005) -> bool:
    """Call check() until it returns something true; False after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


@dataclass
class Stat:
    """Samples of one measurement, in milliseconds."""

    samples: list[float] = field(default_factory=list)
    failures: int = 0

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def p50(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def p95(self) -> float | None:
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# The stack -------------------------------------------------------------------


class Stack:
    """Dovecot, Redis, a Celery worker and uvicorn, with one shared environment."""

    def __init__(
        self, root: Path, database_url: str | None, web_workers: int = 2
    ) -> None:
        self.web_workers = web_workers
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir()
        self.dovecot: DovecotServer | None = None
        self.redis: RedisServer | None = None
        self.worker: CeleryWorker | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.web_port = free_port()
        self.database_url = database_url or f"sqlite:///{root / 'bench.sqlite3'}"
        self.env: dict[str, str] = {}

    def start(self) -> None:
        # Room for 8 bare IMAP clients of one user (bench/engine.py's floor)
        # beside the worker's connections and the user's phone.
        self.dovecot = start_dovecot(
            self.root / "dc", quota_mb=100_000, connections_per_user=30
        )
        self.redis = start_redis(self.root / "redis")
        self.env = self.environment(
            REDIS_URL=self.redis.url, IMAP_SHARDS=str(SHARDS), PYTHONUNBUFFERED="1"
        )
        # This process reads the cache and queues watch requests as the web does.
        os.environ.update(self.env)
        self.manage("migrate", "--noinput", "-v", "0")
        # The pages' assets, as a deployment serves them (WhiteNoise, hashed).
        self.manage("collectstatic", "--noinput", "-v", "0")
        queues = ["default"] + [f"imap.{n}" for n in range(SHARDS)]
        self.worker = CeleryWorker(
            self.env, queues, self.logs / "worker.log", name="bench"
        )
        self.worker.start()
        with (self.logs / "web.log").open("ab") as log:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "webmail.asgi:application",
                 "--host=127.0.0.1", f"--port={self.web_port}", "--no-access-log",
                 "--log-level=warning", f"--workers={self.web_workers}"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if not wait_for_ports([self.web_port], timeout=120):
            raise RuntimeError("uvicorn did not start; see " + str(self.logs))
        import django

        django.setup()

    def environment(self, **extra: str) -> dict[str, str]:
        """The settings every process of the stack runs with, and extra."""
        assert self.dovecot is not None
        return base_env(
            DJANGO_SETTINGS_MODULE="webmail.settings",
            SECRET_KEY="bench-only-" + "k" * 50,
            CREDENTIALS_KEYS=Fernet.generate_key().decode(),
            WEBMAIL_HTTPS="false",
            WEBMAIL_DATA_DIR=str(self.root),
            DATABASE_URL=self.database_url,
            MAIL_ALLOWED_PRIVATE_HOSTS="127.0.0.1",
            MAIL_CA_FILE=str(self.dovecot.ca_cert_path),
            LOG_LEVEL="WARNING",
            **extra,
        )

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        stop_process(self.web)
        if self.worker is not None:
            self.worker.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.dovecot is not None:
            self.dovecot.stop()

    def client(self) -> Client:
        return Client("127.0.0.1", self.web_port)

    def imap(self, username: str) -> IMAPClient:
        """A second IMAP client, the user's phone."""
        assert self.dovecot is not None
        context = ssl.create_default_context(cafile=str(self.dovecot.ca_cert_path))
        client = IMAPClient(
            self.dovecot.host,
            port=self.dovecot.imaps_port,
            ssl=True,
            ssl_context=context,
            timeout=30,
        )
        client.login(username, PASSWORD)
        return client


# One mailbox -----------------------------------------------------------------


class Mailbox:
    """A Dovecot user with size messages in INBOX and its webmail account."""

    def __init__(self, stack: Stack, size: int) -> None:
        self.stack = stack
        self.size = size
        self.login = f"bench{size}"
        self.address = f"bench{size}@example.org"
        self.account_id = 0
        self.folder_id = 0
        self.expected = size

    def create(self) -> None:
        from webmail.mailgen import generate_maildir, index_mailbox

        dovecot = self.stack.dovecot
        assert dovecot is not None
        dovecot.add_user(self.address, PASSWORD)
        maildir = dovecot.maildir(self.address)
        started = time.perf_counter()
        stats = generate_maildir(maildir, count=self.size, seed=1, inbox_share=1.0)
        dovecot.chown_mail(maildir)
        index_mailbox(dovecot.doveadm, self.address)
        inbox = stats.folders.get("INBOX")
        self.expected = inbox.messages if inbox is not None else self.size
        print(
            f"  mailbox of {self.size} messages ({self.expected} in INBOX) ready "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        self.stack.manage(
            "setup_demo",
            f"--login={self.login}",
            f"--password={PASSWORD}",
            f"--address={self.address}",
            f"--imap-port={dovecot.imaps_port}",
        )
        from accounts.models import MailAccount

        self.account_id = MailAccount.objects.get(email=self.address).id

    def inbox_id(self) -> int:
        from webmail.models import Folder

        row = (
            Folder.objects.filter(account_id=self.account_id, name__iexact="INBOX")
            .values_list("id", flat=True)
            .first()
        )
        return row or 0

    def first_rows(self) -> bool:
        from webmail.models import Message

        return Message.objects.filter(folder_id=self.inbox_id()).exists()

    def cached(self) -> int:
        from webmail.models import Message

        return Message.objects.filter(folder_id=self.folder_id).count()

    @property
    def folder_path(self) -> str:
        return f"/mail/{self.account_id}/{self.folder_id}/"

    def message_path(self, uid: int) -> str:
        return f"{self.folder_path}{uid}/"
