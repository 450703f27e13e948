"""Run a real Celery worker process for the demo, the tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class CeleryWorker:
    """One `celery worker` process with the thread pool.

    The environment decides which database, Redis and settings it uses; the
    queues decide which IMAP shards it owns. concurrency (task threads) is
    passed as WORKER_THREADS, which also sizes the worker's database pool;
    without it, the environment's WORKER_THREADS or the settings' default.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        queues: list[str],
        log_path: Path,
        concurrency: int | None = None,
        name: str = "worker",
    ) -> None:
        self.env = {**env, "WEBMAIL_PROCESS": "worker"}
        if concurrency is not None:
            self.env["WORKER_THREADS"] = str(concurrency)
        self.queues = queues
        self.log_path = log_path
        self.name = name
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webmail",
            "worker",
            "--pool=threads",
            f"--queues={','.join(self.queues)}",
            f"--hostname={self.name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ]

    @property
    def concurrency(self) -> int:
        """Its task threads (WORKER_THREADS)."""
        from django.conf import settings

        return int(self.env.get("WORKER_THREADS") or settings.WORKER_THREADS)

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=REPO, env=self.env, stdout=log, stderr=log
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill without warning, as a crash or the OOM killer would."""
        if self.alive():
            assert self.process is not None
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class CeleryBeat(CeleryWorker):
    """One `celery beat` process: it sends the periodic tasks, runs none.

    A deployment runs exactly one; its schedule file (when each task last
    went) is kept at schedule_path.
    """

    def __init__(
        self, env: Mapping[str, str], schedule_path: Path, log_path: Path
    ) -> None:
        super().__init__(env, [], log_path, name="beat")
        self.env["WEBMAIL_PROCESS"] = "beat"
        self.schedule_path = schedule_path

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "webmail",
            "beat",
            f"--schedule={self.schedule_path}",
            "--loglevel=INFO",
        ]


def wait_until(
    check: Callable[[], object], timeout: float, interval: float = 0.05
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False


def base_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env
