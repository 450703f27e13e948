"""Keep the demo's processes running: restart one that stops, with a backoff.

A worker killed by the out-of-memory killer, or a crash of any other
process, should cost a few seconds of that process, not the whole demo. The
supervisor says in the terminal what stopped and when it comes back, waits
1, 2, 4 ... up to 30 seconds between attempts (back to 1 once a process has
run steadily for a minute), and gives up, stopping everything, only when a
process keeps stopping soon after each start.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

FIRST_DELAY = 1.0
MOST_DELAY = 30.0
# A process that ran this long (seconds) was fine: its next stop starts the
# backoff from FIRST_DELAY again.
STEADY = 60.0
# Stops in a row, each within STEADY of its start, before the supervisor
# gives up (about three minutes of attempts with the delays above).
GIVE_UP_AFTER = 10
STOP_TIMEOUT = 15.0
# A child that takes this long to stop is named as it goes (stop_all).
SLOW_STOP = 3.0


class Child(Protocol):
    """What the supervisor needs of a process it keeps running."""

    @property
    def process(self) -> subprocess.Popen[bytes] | None: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Command:
    """A plain process: started from a command line, stopped with SIGTERM."""

    def __init__(
        self, args: Sequence[str], cwd: Path, env: Mapping[str, str], log: Path | None
    ) -> None:
        self.args = list(args)
        self.cwd = cwd
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.log is None:  # the terminal's
            self.process = subprocess.Popen(self.args, cwd=self.cwd, env=self.env)
            return
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, cwd=self.cwd, env=self.env, stdout=out, stderr=out
            )

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class GaveUp(Exception):
    """A process kept stopping soon after each start."""


@dataclass
class _Entry:
    name: str
    child: Child
    log: Path | None
    started_at: float
    fast_stops: int = 0  # in a row, each within STEADY of its start
    restart_at: float | None = None  # set while it waits to be restarted


class Supervisor:
    """Restart stopped children with a backoff; stop them all at the end.

    Children are added once started; they are stopped in the reverse order.
    """

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        first_delay: float = FIRST_DELAY,
        most_delay: float = MOST_DELAY,
        steady: float = STEADY,
        give_up_after: int = GIVE_UP_AFTER,
    ) -> None:
        self.say = say
        self.first_delay = first_delay
        self.most_delay = most_delay
        self.steady = steady
        self.give_up_after = give_up_after
        self._entries: list[_Entry] = []

    def add(self, name: str, child: Child, log: Path | None = None) -> None:
        """Watch a child that has just been started."""
        self._entries.append(_Entry(name, child, log, time.monotonic()))

    def run(self, interval: float = 0.2) -> None:
        """Watch the children until one has to be given up (raises GaveUp)."""
        while True:
            self.check()
            time.sleep(interval)

    def check(self) -> None:
        """Notice stopped children and restart those whose delay is over."""
        now = time.monotonic()
        for entry in self._entries:
            if entry.restart_at is None:
                process = entry.child.process
                status = None if process is None else process.poll()
                if process is not None and status is None:
                    continue
                self._stopped(entry, now, f"{entry.name} stopped ({_how(status)})")
            elif now >= entry.restart_at:
                self._restart(entry)

    def stop_all(self) -> None:
        for entry in reversed(self._entries):
            started = time.monotonic()
            entry.child.stop()
            took = time.monotonic() - started
            if took >= SLOW_STOP:
                # Each is stopped in turn: the one that held up Ctrl-C is named.
                self.say(f"{entry.name} took {took:.0f} s to stop")

    def _stopped(self, entry: _Entry, now: float, what: str) -> None:
        if now - entry.started_at >= self.steady:
            entry.fast_stops = 0
        entry.fast_stops += 1
        if entry.fast_stops >= self.give_up_after:
            where = f" See {entry.log}." if entry.log else ""
            raise GaveUp(
                f"{what}: {entry.fast_stops} times in a row, each within "
                f"{self.steady:g} s of starting. Stopping everything.{where}"
            )
        delay = min(self.most_delay, self.first_delay * 2 ** (entry.fast_stops - 1))
        self.say(f"{what}; restarting in {delay:g} s")
        entry.restart_at = now + delay
        try:
            # What is left of it (Dovecot's children, a port) goes first.
            entry.child.stop()
        except Exception as exc:  # the restart will say what is still wrong
            self.say(f"{entry.name} did not stop cleanly: {exc}")

    def _restart(self, entry: _Entry) -> None:
        entry.restart_at = None
        entry.started_at = time.monotonic()
        try:
            entry.child.start()
        except Exception as exc:  # counted like a stop right after the start
            self._stopped(
                entry, time.monotonic(), f"{entry.name} could not start ({exc})"
            )
            return
        process = entry.child.process
        pid = process.pid if process is not None else "?"
        self.say(f"{entry.name} restarted (pid {pid})")


def _how(status: int | None) -> str:
    if status is None:
        return "not running"
    if status < 0:
        try:
            return f"exit {status}, {signal.Signals(-status).name}"
        except ValueError:
            pass
    return f"exit {status}"
