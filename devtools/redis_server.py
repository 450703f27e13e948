"""Run Debian's redis-server on a free loopback port for the demo and tests.

Never port 6379: that one belongs to whatever else runs on the machine.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from devtools.ports import LOOPBACK, free_port, port_open

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
SHARED_PORT = 6379


class RedisError(RuntimeError):
    """redis-server could not be started or stopped."""


class RedisServer:
    """One redis-server process with a fixed port across restarts."""

    host = LOOPBACK

    def __init__(self, workdir: Path, port: int | None, persist: bool) -> None:
        if shutil.which("redis-server") is None:
            raise RedisError("redis-server not found: install Debian's redis-server.")
        if port == SHARED_PORT:
            raise ValueError("Port 6379 is the machine's shared Redis; pick another.")
        self.workdir = Path(workdir).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port if port is not None else free_port()
        self.persist = persist
        self.log_path = self.workdir / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of database 0."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The redis-server process of the last start, if any."""
        return self._process

    @property
    def running(self) -> bool:
        """Whether the redis-server process is alive."""
        return self._process is not None and self._process.poll() is None

    def _command(self) -> list[str]:
        command = [
            "redis-server",
            "--bind", self.host,
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--databases", "16",
        ]  # fmt: skip
        if self.persist:
            # Append-only file: survives a crash as well as a clean stop.
            command += ["--appendonly", "yes", "--save", "60 1000"]
        else:
            command += ["--appendonly", "no", "--save", ""]
        return command

    def start(self) -> None:
        """Start redis-server and wait until it answers PING."""
        if self.running:
            return
        if port_open(self.port):
            raise RedisError(f"Port {self.port} is already in use.")
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _running_servers.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RedisError(
                    f"redis-server did not start on port {self.port} within "
                    f"{START_TIMEOUT:.0f} s. Log:\n{self._log_tail(log_offset)}"
                )
            time.sleep(0.02)

    def _answers(self) -> bool:
        if not port_open(self.port):
            return False
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Stop redis-server (saving its data first when persist is on)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        self._forget()

    def kill(self) -> None:
        """Kill redis-server at once, as a crash would."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
            process.wait(STOP_TIMEOUT)
        self._forget()

    def restart(self) -> None:
        """Stop and start again on the same port (clients must reconnect)."""
        self.stop()
        self.start()

    def _forget(self) -> None:
        self._process = None
        _running_servers.discard(self)
        deadline = time.monotonic() + STOP_TIMEOUT
        while port_open(self.port):
            if time.monotonic() > deadline:
                raise RedisError(f"Port {self.port} stayed open after stopping.")
            time.sleep(0.02)

    def _log_tail(self, offset: int = 0, lines: int = 20) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RedisServer {self.url} workdir={self.workdir}>"


_running_servers: set[RedisServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running_servers):
        with contextlib.suppress(RedisError):
            server.kill()


def start_redis(
    workdir: Path, port: int | None = None, persist: bool = False
) -> RedisServer:
    """Start redis-server with its files in workdir and return it once it answers.

    port=None picks a free port. persist=True keeps the data across restarts
    (append-only file in workdir); otherwise each start begins empty.
    """
    server = RedisServer(workdir, port, persist)
    server.start()
    return server
