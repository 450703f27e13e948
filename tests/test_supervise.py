"""The demo's supervisor restarts what stops, with a backoff (devtools/supervise.py).

The children are real short-lived processes; the delays are shortened.
"""

import re
import sys
import time
from pathlib import Path

import pytest

from devtools.supervise import Command, GaveUp, Supervisor

REPO = Path(__file__).resolve().parent.parent


def _python(code: str) -> Command:
    return Command([sys.executable, "-c", code], cwd=REPO, env={}, log=None)


def _run_until(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.01)


def test_a_process_that_keeps_stopping_is_restarted_ever_later_then_given_up():
    said: list[str] = []
    supervisor = Supervisor(
        said.append, first_delay=0.05, most_delay=0.2, steady=10, give_up_after=5
    )
    child = _python("raise SystemExit(3)")
    child.start()
    supervisor.add("crasher", child)
    with pytest.raises(GaveUp) as gave_up:
        _run_until(supervisor, 10)
    stops = [line for line in said if "stopped" in line]
    assert stops == [
        "crasher stopped (exit 3); restarting in 0.05 s",
        "crasher stopped (exit 3); restarting in 0.1 s",
        "crasher stopped (exit 3); restarting in 0.2 s",
        "crasher stopped (exit 3); restarting in 0.2 s",
    ]
    restarts = [line for line in said if "restarted" in line]
    assert len(restarts) == 4
    assert all(re.fullmatch(r"crasher restarted \(pid \d+\)", r) for r in restarts)
    assert str(gave_up.value).startswith(
        "crasher stopped (exit 3): 5 times in a row, each within 10 s of starting."
    )


def test_a_process_that_ran_steadily_starts_the_backoff_again():
    said: list[str] = []
    supervisor = Supervisor(
        said.append, first_delay=0.05, most_delay=1, steady=0.2, give_up_after=2
    )
    child = _python("import time; time.sleep(0.3)")
    child.start()
    supervisor.add("sleeper", child)
    try:
        _run_until(supervisor, 1.5)
    finally:
        supervisor.stop_all()
    stops = [line for line in said if "stopped" in line]
    assert len(stops) >= 2
    assert set(stops) == {"sleeper stopped (exit 0); restarting in 0.05 s"}


def test_a_killed_process_is_named_with_its_signal_and_stop_all_ends_the_others():
    said: list[str] = []
    supervisor = Supervisor(said.append, first_delay=0.05)
    victim = _python("import time; time.sleep(60)")
    bystander = _python("import time; time.sleep(60)")
    victim.start()
    bystander.start()
    supervisor.add("victim", victim)
    supervisor.add("bystander", bystander)
    assert victim.process is not None and bystander.process is not None
    first_pid = victim.process.pid
    victim.process.kill()
    victim.process.wait()
    try:
        _run_until(supervisor, 0.5)
        assert said[0] == "victim stopped (exit -9, SIGKILL); restarting in 0.05 s"
        assert said[1] == f"victim restarted (pid {victim.process.pid})"
        assert victim.process.pid != first_pid
        assert victim.process.poll() is None
    finally:
        supervisor.stop_all()
    assert victim.process.poll() is not None
    assert bystander.process.poll() is not None


def test_a_process_slow_to_stop_is_named_as_everything_stops():
    said: list[str] = []
    supervisor = Supervisor(said.append)
    # It finishes its work for 3.5 s after being asked to stop.
    slow = _python(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(3.5), exit(0)))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    quick = _python("import time; time.sleep(60)")
    slow.start()
    quick.start()
    supervisor.add("worker", slow)
    supervisor.add("web server", quick)
    time.sleep(0.5)  # the handler is in place

    supervisor.stop_all()

    # Only the one that held the others up is named.
    assert len(said) == 1 and re.fullmatch(r"worker took [45] s to stop", said[0])
