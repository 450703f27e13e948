"""What sign-ins cost the web processes: time, and memory at a burst.

Usage: python bench/signin.py [--burst 32] [--rounds 3] [--sequential 30]

Starts Redis and uvicorn (two processes, as docker-compose.yml runs it) on
an SQLite database in a temporary directory under /tmp, makes a few users,
and signs in over HTTP:

- one at a time, with the right password (the time a user waits);
- in bursts of `burst` sign-ins sent at once, a third each with the right
  password, a wrong one and a user name nobody has, counting what each got
  (signed in, refused, "try again");
- with a 2 MB password, which must be refused before any hashing.

It prints p50 and p95 of the POST's time, and each web process's resident
memory before the bursts and its peak during them (VmHWM, reset after the
warm-up). The lockout is raised out of the way: every sign-in here comes
from one address. Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet

from bench._procs import children_of, cmdline, memory_kib, reset_peak, stop_process
from bench._support import CSRF_FIELD, Client, Response, Stat, fmt
from devtools.celery_worker import REPO, base_env
from devtools.ports import free_port, wait_for_ports
from devtools.redis_server import RedisServer, start_redis

PASSWORD = "bench-password-1"  # noqa: S105 - throwaway accounts
USERS = 8
LONG_PASSWORD = "x" * (2 * 1024 * 1024)
BUSY = "try again in a moment"


class WebStack:
    """Redis and uvicorn on a fresh SQLite database."""

    def __init__(self, root: Path, web_workers: int) -> None:
        self.root = root
        self.web_workers = web_workers
        self.port = free_port()
        self.redis: RedisServer | None = None
        self.web: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}

    def start(self) -> None:
        self.redis = start_redis(self.root / "redis")
        self.env = base_env(
            DJANGO_SETTINGS_MODULE="webmail.settings",
            SECRET_KEY="bench-only-" + "k" * 50,
            CREDENTIALS_KEYS=Fernet.generate_key().decode(),
            WEBMAIL_HTTPS="false",
            WEBMAIL_DATA_DIR=str(self.root),
            DATABASE_URL=f"sqlite:///{self.root / 'bench.sqlite3'}",
            REDIS_URL=self.redis.url,
            SIGNIN_FAILURE_LIMIT="1000000",
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        os.environ.update(self.env)
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            subprocess.run(
                [sys.executable, "manage.py", *command, "-v", "0"],
                cwd=REPO, env=self.env, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        with (self.root / "web.log").open("ab") as log:
            self.web = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "webmail.asgi:application",
                 "--host=127.0.0.1", f"--port={self.port}", "--no-access-log",
                 "--log-level=warning", f"--workers={self.web_workers}"],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        if not wait_for_ports([self.port], timeout=30):
            raise RuntimeError(f"uvicorn did not start; see {self.root / 'web.log'}")
        import django

        django.setup()

    def stop(self) -> None:
        stop_process(self.web)
        if self.redis is not None:
            self.redis.stop()

    def web_processes(self) -> list[int]:
        """The uvicorn processes that serve requests (the parent only supervises)."""
        assert self.web is not None
        return [
            pid
            for pid in children_of(self.web.pid)
            if "resource_tracker" not in cmdline(pid)
        ] or [self.web.pid]

    def client(self) -> Client:
        return Client("127.0.0.1", self.port)


def make_users() -> None:
    from accounts.models import User

    for n in range(USERS):
        User.objects.create_user(username=f"user{n}", password=PASSWORD)


def ready_client(stack: WebStack) -> tuple[Client, str]:
    """A client with the sign-in page's cookie and token, as a browser has."""
    client = stack.client()
    token = CSRF_FIELD.search(client.get("/accounts/login/").body)
    if token is None:
        raise RuntimeError("The sign-in page has no CSRF token.")
    return client, token[1]


def post_sign_in(
    client: Client, token: str, username: str, password: str
) -> tuple[float, Response]:
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
    started = time.perf_counter()
    answer = client.post("/accounts/login/", form)
    return (time.perf_counter() - started) * 1000, answer


def outcome(answer: Response) -> str:
    if answer.status == 302:
        return "signed in"
    if BUSY in answer.body:
        return f"try again ({answer.status})"
    if "password is wrong" in answer.body:
        return "refused"
    if "too long" in answer.body.lower():
        return "too long"
    return f"other ({answer.status})"


def attempt(n: int) -> tuple[str, str]:
    """The n-th sign-in of a burst: right, wrong, or a name nobody has."""
    user = f"user{n % USERS}"
    kind = n % 3
    if kind == 0:
        return user, PASSWORD
    if kind == 1:
        return user, "not-the-password"
    return f"nobody{n}", PASSWORD


def sequential(stack: WebStack, count: int) -> tuple[Stat, Stat]:
    """Sign-ins one after the other, and the sign-in page's GET beside them."""
    stat, page = Stat(), Stat()
    for n in range(count):
        client = stack.client()
        started = time.perf_counter()
        token = CSRF_FIELD.search(client.get("/accounts/login/").body)
        page.add((time.perf_counter() - started) * 1000)
        assert token is not None
        took, answer = post_sign_in(client, token[1], f"user{n % USERS}", PASSWORD)
        client.close()
        if answer.status != 302:
            raise RuntimeError(f"A sign-in failed ({answer.status}).")
        stat.add(took)
    return stat, page


def hash_alone(count: int) -> Stat:
    """The configured hasher in this process, as the web processes run it."""
    from django.contrib.auth.hashers import get_hasher

    hasher, stat = get_hasher(), Stat()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    for _ in range(count):
        started = time.perf_counter()
        hasher.verify(PASSWORD, encoded)
        stat.add((time.perf_counter() - started) * 1000)
    return stat


def burst(stack: WebStack, size: int, stat: Stat, outcomes: Counter[str]) -> None:
    prepared = [ready_client(stack) for _ in range(size)]
    start = threading.Barrier(size)
    lock = threading.Lock()

    def run(n: int) -> None:
        client, token = prepared[n]
        username, password = attempt(n)
        start.wait()
        took, answer = post_sign_in(client, token, username, password)
        client.close()
        with lock:
            stat.add(took)
            outcomes[outcome(answer)] += 1

    threads = [threading.Thread(target=run, args=(n,)) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def long_passwords(stack: WebStack, count: int) -> tuple[Stat, Counter[str]]:
    stat, outcomes = Stat(), Counter[str]()
    for n in range(count):
        client, token = ready_client(stack)
        took, answer = post_sign_in(client, token, f"user{n % USERS}", LONG_PASSWORD)
        client.close()
        stat.add(took)
        outcomes[outcome(answer)] += 1
    return stat, outcomes


def show(name: str, stat: Stat) -> None:
    print(
        f"  {name}: p50 {fmt(stat.p50)} ms, p95 {fmt(stat.p95)} ms, "
        f"max {fmt(max(stat.samples, default=None))} ms ({len(stat.samples)})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sequential", type=int, default=30)
    parser.add_argument("--long", type=int, default=5, help="2 MB passwords sent")
    parser.add_argument("--web-workers", type=int, default=2)
    options = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="si-", dir="/tmp"))
    stack = WebStack(root, options.web_workers)
    try:
        stack.start()
        make_users()
        web = stack.web_processes()
        sequential(stack, 10)  # warm-up: imports, templates, connections
        print(f"web processes: {web}", flush=True)
        print(f"\n== {options.sequential} sign-ins one at a time ==", flush=True)
        signed_in, page = sequential(stack, options.sequential)
        show("sign-in (POST)", signed_in)
        show("sign-in page (GET), for comparison", page)
        show("one password check, in this process", hash_alone(options.sequential))

        before = {pid: memory_kib(pid) for pid in web}
        peaks_reset = all(reset_peak(pid) for pid in web)
        samples: dict[int, int] = dict.fromkeys(web, 0)
        sampling = threading.Event()

        def sample() -> None:
            # VmHWM is exact where it can be reset; sampling is the fallback.
            while not sampling.is_set():
                for pid in web:
                    rss = memory_kib(pid).get("VmRSS", 0)
                    samples[pid] = max(samples[pid], rss)
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        stat, outcomes = Stat(), Counter[str]()
        print(
            f"\n== {options.rounds} bursts of {options.burst} sign-ins at once "
            "(right, wrong, unknown name) ==",
            flush=True,
        )
        for _ in range(options.rounds):
            burst(stack, options.burst, stat, outcomes)
            time.sleep(0.5)
        sampling.set()
        sampler.join()
        show("sign-in in a burst", stat)
        print(f"  outcomes: {dict(sorted(outcomes.items()))}")
        for pid in web:
            after = memory_kib(pid)
            peak = after.get("VmHWM", 0) if peaks_reset else samples[pid]
            print(
                f"  web process {pid}: RSS before {before[pid].get('VmRSS', 0) // 1024}"
                f" MiB, peak {peak // 1024} MiB"
                f"{'' if peaks_reset else ' (sampled)'}, after "
                f"{after.get('VmRSS', 0) // 1024} MiB",
                flush=True,
            )
        if options.long:
            print(f"\n== {options.long} sign-ins with a 2 MB password ==", flush=True)
            long_stat, long_outcomes = long_passwords(stack, options.long)
            show("2 MB password", long_stat)
            print(f"  outcomes: {dict(sorted(long_outcomes.items()))}")
            for pid in web:
                peak = memory_kib(pid).get("VmHWM", 0) // 1024
                print(f"  web process {pid}: peak {peak} MiB", flush=True)
    except KeyboardInterrupt:
        print("\nInterrupted: stopping.", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
