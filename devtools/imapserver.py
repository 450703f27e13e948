"""What the Cyrus and Courier test servers share: ports, TLS files, the process.

Each server runs in a process group of its own started from a work
directory, on two free loopback ports (STARTTLS and IMAPS), with the
certificate of a test CA; stop() ends the whole group, so no session
process outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import imaplib
import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from devtools.ports import LOOPBACK, free_port, port_open, wait_for_ports
from devtools.tls import ensure_certificates

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# The special folders a test user starts with, as a provider makes them.
SPECIAL_FOLDERS = (
    ("Drafts", "\\Drafts"),
    ("Sent", "\\Sent"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)


class ImapServerError(RuntimeError):
    """A test IMAP server could not be set up, started, or asked something."""


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


class ProcessServer:
    """A server process group on (imap_port, imaps_port) of 127.0.0.1."""

    host = LOOPBACK
    # What the Dovecot fixtures offer as remote_host; these servers have no
    # local/remote distinction, so both are the loopback address.
    remote_host = LOOPBACK
    name = "server"

    def __init__(self, workdir: Path, tls_dir: Path | None) -> None:
        if os.geteuid() != 0:
            raise ImapServerError(f"{self.name} must be started as root here.")
        self.workdir = workdir.resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.imap_port, self.imaps_port = two_free_ports()
        certs = ensure_certificates(tls_dir or self.workdir / "ca")
        self.ca_cert_path = certs.ca_cert
        self.server_cert_path = certs.server_cert
        self.server_key_path = certs.server_key
        self.log_path = self.workdir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _command(self) -> Sequence[str]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Write configuration before each start."""

    def start(self) -> None:
        """Start the server and wait until it accepts a login."""
        if self.running:
            return
        self._prepare()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                list(self._command()),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _running.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while not wait_for_ports([self.imap_port, self.imaps_port], timeout=0.1):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ImapServerError(
                    f"{self.name} did not start (workdir {self.workdir}):\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
        self._started()

    def _started(self) -> None:
        """Set up what needs the running server (accounts, ...)."""

    def stop(self) -> None:
        """Stop every process of the server; its data stays."""
        process = self._process
        if process is None:
            return
        for signum in (signal.SIGTERM, signal.SIGKILL):
            # Courier's listeners make process groups of their own, but stay
            # in the session started for the server.
            for pid in {process.pid, *session_members(process.pid)}:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT / 2)
            if not session_members(process.pid):
                break
        self._process = None
        _running.discard(self)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(port_open(p) for p in (self.imap_port, self.imaps_port)):
            if time.monotonic() > deadline:
                raise ImapServerError(f"{self.name}'s ports stayed open after stop.")
            time.sleep(0.05)

    def login(self, username: str, password: str) -> imaplib.IMAP4_SSL:
        """Return an IMAPS connection logged in (for setting accounts up)."""
        context = ssl.create_default_context(cafile=str(self.ca_cert_path))
        client = imaplib.IMAP4_SSL(
            self.host, self.imaps_port, ssl_context=context, timeout=30
        )
        client.login(username, password)
        return client

    def wait_login(self, username: str, password: str) -> None:
        """Wait until username can log in (a server may listen before it can)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                self.login(username, password).logout()
                return
            except (OSError, imaplib.IMAP4.error) as exc:
                if time.monotonic() > deadline:
                    raise ImapServerError(
                        f"{username} cannot log in to {self.name}: {exc}"
                    ) from exc
                time.sleep(0.2)

    def copy_owned(self, source: Path, target: Path, uid: int, gid: int) -> None:
        """Copy a file for the server's account to read, and no one else."""
        shutil.copyfile(source, target)
        os.chown(target, uid, gid)
        target.chmod(0o640)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} imap={self.imap_port} "
            f"imaps={self.imaps_port} workdir={self.workdir}>"
        )


def session_members(session: int) -> list[int]:
    """Return the pids of the live processes in a session (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces.
        fields = stat.rpartition(")")[2].split()
        # A zombie is gone already, waiting for init to reap it.
        if len(fields) > 3 and int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def create_special_folders(client: imaplib.IMAP4, *, flagged: bool) -> None:
    """Create and subscribe the special folders under the personal prefix.

    flagged marks them with CREATE ... (USE (...)) (RFC 6154), which only a
    server with CREATE-SPECIAL-USE accepts.
    """
    prefix, _ = personal_namespace(client)
    for name, flag in SPECIAL_FOLDERS:
        full = prefix + name
        if flagged:
            status, _ = client._simple_command("CREATE", full, f"(USE ({flag}))")
        else:
            status, _ = client.create(full)
        if status != "OK":
            raise ImapServerError(f"CREATE {full} failed")
        client.subscribe(full)


def personal_namespace(client: imaplib.IMAP4) -> tuple[str, str]:
    """Return the (prefix, delimiter) of the personal namespace."""
    _, data = client.namespace()
    text = (data[0] or b"").decode()
    # e.g. (("INBOX." ".")) NIL NIL
    parts = text.split('"')
    if len(parts) >= 4:
        return parts[1], parts[3]
    return "", "/"


_running: set[ProcessServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    for server in list(_running):
        with contextlib.suppress(ImapServerError):
            server.stop()
