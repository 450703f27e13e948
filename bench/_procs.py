"""What the benches read of their processes in /proc, and how they stop them."""

from __future__ import annotations

import os
import subprocess


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Ask a process to end; kill it if it has not within 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_kib(pid: int) -> int | None:
    """Return the resident set size of a process in KiB (None if gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak since start or the last reset) in KiB."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0])
    except OSError:
        pass
    return found


def reset_peak(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux 4.0 and later)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # The fields after the command name, which may hold spaces.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its descendants alive now.

    Children that have ended are not counted: the benches read servers
    whose processes live as long as the run (uvicorn and its page
    processes, the Celery worker).
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, found = [pid], 0
    while found < len(tree):
        tree += [child for child, parent in parents.items() if parent == tree[found]]
        found += 1
    return sum(cpu_seconds(member) for member in tree)
