"""Run Debian's Dovecot as a local IMAP server for the demo, tests and benchmarks.

Each instance lives in one work directory: configuration, TLS files, the
passwd-files of users, mail (Maildir++), state, sockets and the log. Ports are
picked free on 127.0.0.1, so several instances can run side by side, and a
second start on the same directory finds its users and mail again.

Dovecot's master runs as root here (as it does in production) and switches
to the unprivileged "dovecot" system account for mail access, so mail files
belong to that account; ``chown_mail`` fixes files written by other code.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType

from devtools.ports import LOOPBACK, free_port, port_open, wait_for_ports
from devtools.tls import ensure_certificates

# A second loopback address on the same ports. Dovecot treats a client whose
# address equals the server's as local and lets it send passwords in clear
# whatever disable_plaintext_auth says; a client connecting to this address
# comes from 127.0.0.1 and is treated like a remote one.
REMOTE_HOST = "127.0.0.2"

TEMPLATE = Path(__file__).resolve().parent / "dovecot" / "dovecot.conf.tmpl"
MAIL_ACCOUNT = "dovecot"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
STOP_GRACE = 0.5
# Unix socket paths are limited to 108 bytes; Dovecot's longest one under
# base_dir adds about 30.
MAX_BASE_DIR = 75
VARIANTS = ("full", "reduced", "prefixed", "no-uidplus")
# The full and reduced servers create these folders for every user.
SPECIAL_MAILBOXES = """\
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
"""
# A second personal namespace with a quota root of its own (attic_kb).
# Dovecot checks a MOVE against the quota only when the target has a root
# the source has not, so only this way does it refuse a MOVE for quota.
ATTIC = """
namespace attic {{
  prefix = Attic/
  separator = /
  location = maildir:~/Attic:LAYOUT=maildir++
  list = yes
  subscriptions = yes
}}
plugin {{
  quota2 = count:Attic quota:ns=Attic/
  quota2_rule = *:storage={kb}K
}}
"""
# What Dovecot's auth_username_chars accepts by default.
USERNAME = re.compile(r"[A-Za-z0-9.@_-]+")

# What a Courier- or older-Cyrus-like server offers: none of the extensions
# that make sync and push cheap. Dovecot uses this list as it is before and
# after login, adding only STARTTLS and AUTH= before it; QUOTA is listed
# because imap_quota is loaded (Courier offers it too).
REDUCED_CAPABILITY = (
    "IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID UNSELECT CHILDREN NAMESPACE "
    "UIDPLUS MULTIAPPEND SPECIAL-USE I18NLEVEL=1 QUOTA"
)


class DovecotError(RuntimeError):
    """Dovecot could not be set up, started, or asked something."""


def find_binary(name: str) -> str:
    # /usr/sbin is not on every account's PATH.
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DovecotError(f"{name} not found: install Debian's dovecot-imapd package.")


def _ssha256(password: str) -> str:
    salt = secrets.token_bytes(8)
    digest = hashlib.sha256(password.encode() + salt).digest()
    return "{SSHA256}" + base64.b64encode(digest + salt).decode()


def make_traversable(path: Path) -> None:
    """Let other accounts pass through path and its parents (o+x, not o+r).

    The mail account must reach its files under the work directory; private
    temporary directories (pytest makes its own 0700) would stop it.
    """
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if mode & stat.S_IXOTH:
            continue
        os.chmod(directory, stat.S_IMODE(mode) | stat.S_IXOTH)


def _check_traversable(path: Path, uid: int, gid: int) -> None:
    for directory in (path, *path.parents):
        info = directory.stat()
        if info.st_uid == uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            raise DovecotError(
                f"The mail account cannot enter {directory} (mode "
                f"{stat.filemode(info.st_mode)}); use a work directory it can "
                "reach, or call devtools.dovecot.make_traversable() on it."
            )


class DovecotServer:
    """One Dovecot instance: its ports, its users and its process.

    Clients connect to ``host`` on ``imap_port`` (STARTTLS) or ``imaps_port``
    and trust ``ca_cert_path``. The same ports also listen on
    ``remote_host``, where Dovecot treats the client as remote (see
    REMOTE_HOST): LOGINDISABLED before STARTTLS unless plaintext is allowed.

    Each user has a passwd-file of its own (users/<name>), so a user added
    while Dovecot runs can log in at once: Dovecot checks a passwd-file it
    has read for changes at most once a second, but reads a new one at once.
    """

    host = LOOPBACK
    remote_host = REMOTE_HOST

    def __init__(
        self,
        workdir: Path,
        *,
        variant: str,
        quota_mb: int,
        allow_plaintext_auth: bool,
        tls_dir: Path | None = None,
        ports: tuple[int, int] | None = None,
        listen: str | None = None,
        attic_kb: int | None = None,
        connections_per_user: int = 10,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
        if os.geteuid() != 0:
            raise DovecotError("Dovecot must be started as root here.")
        self.dovecot_bin = find_binary("dovecot")
        self.doveadm_bin = find_binary("doveadm")
        self.workdir = workdir.resolve()
        self.variant = variant
        self.delimiter = "/" if variant == "full" else "."
        self.quota_mb = quota_mb
        self.attic_kb = attic_kb
        self.allow_plaintext_auth = allow_plaintext_auth
        self.connections_per_user = connections_per_user
        account = pwd.getpwnam(MAIL_ACCOUNT)
        self.mail_uid = account.pw_uid
        self.mail_gid = account.pw_gid
        self.listen = listen or f"{LOOPBACK}, {REMOTE_HOST}"
        if ports is not None:
            self.imap_port, self.imaps_port = ports
        else:
            self.imap_port = free_port()
            self.imaps_port = free_port()
            while self.imaps_port == self.imap_port:
                self.imaps_port = free_port()
        self.config_path = self.workdir / "dovecot.conf"
        self.log_path = self.workdir / "dovecot.log"
        self.users_dir = self.workdir / "users"
        self.mail_dir = self.workdir / "mail"
        self.base_dir = self.workdir / "run"
        self.state_dir = self.workdir / "state"
        self.tls_dir = Path(tls_dir) if tls_dir is not None else self.workdir / "tls"
        self._process: subprocess.Popen[bytes] | None = None
        self._prepare()
        self.ca_cert_path = self._certs.ca_cert
        self.server_cert_path = self._certs.server_cert
        self.server_key_path = self._certs.server_key

    def _prepare(self) -> None:
        if len(str(self.base_dir)) > MAX_BASE_DIR:
            raise DovecotError(
                f"Work directory path too long for Dovecot's sockets: {self.workdir}"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        _check_traversable(self.workdir, self.mail_uid, self.mail_gid)
        for directory in (self.base_dir, self.state_dir):
            directory.mkdir(exist_ok=True)
            directory.chmod(0o755)
        self.mail_dir.mkdir(exist_ok=True)
        os.chown(self.mail_dir, self.mail_uid, self.mail_gid)
        self.mail_dir.chmod(0o700)
        self._certs = ensure_certificates(self.tls_dir)
        self.users_dir.mkdir(exist_ok=True)
        os.chown(self.users_dir, 0, self.mail_gid)
        self.users_dir.chmod(0o750)

    def _write_config(self) -> None:
        full = self.variant == "full"
        offered = REDUCED_CAPABILITY
        if self.variant == "no-uidplus":  # as some older servers: no UID EXPUNGE
            offered = offered.replace(" UIDPLUS", "")
        capability = "" if full else f"imap_capability = {offered}"
        values = {
            "INSTANCE_NAME": "webmail-"
            + hashlib.sha1(  # noqa: S324 - a label
                str(self.workdir).encode()
            ).hexdigest()[:10],
            "LISTEN": self.listen,
            "BASE_DIR": str(self.base_dir),
            "STATE_DIR": str(self.state_dir),
            "LOG_PATH": str(self.log_path),
            "MAIL_UID": str(self.mail_uid),
            "MAIL_GID": str(self.mail_gid),
            "ZLIB_PLUGIN": "zlib" if full else "",
            "IMAP_ZLIB_PLUGIN": "imap_zlib" if full else "",
            "IMAP_CAPABILITY": capability,
            "SSL_CERT": str(self._certs.server_cert),
            "SSL_KEY": str(self._certs.server_key),
            "DISABLE_PLAINTEXT_AUTH": "no" if self.allow_plaintext_auth else "yes",
            "USERS_DIR": str(self.users_dir),
            "MAIL_DIR": str(self.mail_dir),
            "SEPARATOR": self.delimiter,
            # "prefixed": the personal folders live under "INBOX." (as on
            # Courier and Cyrus), and no special folder exists until made.
            "PREFIX": "INBOX." if self.variant == "prefixed" else "",
            "SPECIAL_MAILBOXES": ""
            if self.variant == "prefixed"
            else SPECIAL_MAILBOXES,
            "QUOTA_MB": str(self.quota_mb),
            "ATTIC": "" if self.attic_kb is None else ATTIC.format(kb=self.attic_kb),
            "CONNECTIONS_PER_USER": str(self.connections_per_user),
            "IMAP_PORT": str(self.imap_port),
            "IMAPS_PORT": str(self.imaps_port),
        }
        text = re.sub(
            r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], TEMPLATE.read_text()
        )
        self.config_path.write_text(text)

    # Users -------------------------------------------------------------

    def _passwd_file(self, username: str) -> Path:
        if not USERNAME.fullmatch(username) or username.startswith("."):
            raise ValueError(f"Unusable IMAP username: {username!r}")
        return self.users_dir / username

    def add_user(
        self, username: str, password: str, quota_mb: int | None = None
    ) -> None:
        """Create the user, or set its password and quota if it exists.

        A new user can log in at once. A changed password can take up to a
        second to apply, as Dovecot checks a passwd-file at most once a
        second. quota_mb=None uses the instance's default quota.
        """
        path = self._passwd_file(username)
        if "\n" in password:
            raise ValueError("Passwords cannot contain newlines.")
        extra = ""
        if quota_mb is not None:
            extra = f"userdb_quota_rule=*:storage={quota_mb}M"
        tmp = path.with_name(f".{username}.tmp")
        tmp.write_text(f"{username}:{_ssha256(password)}::::::{extra}\n")
        # The auth process runs as the dovecot account and must read it.
        os.chown(tmp, 0, self.mail_gid)
        tmp.chmod(0o640)
        os.replace(tmp, path)

    def users(self) -> list[str]:
        """Return the usernames, sorted."""
        return sorted(p.name for p in self.users_dir.iterdir() if p.name[0] != ".")

    def maildir(self, username: str) -> Path:
        """Return the user's Maildir (Dovecot creates it at the first login)."""
        return self.mail_dir / username / "Maildir"

    def chown_mail(self, path: Path) -> None:
        """Give path and everything under it to the mail account.

        Files written by another process (a mailbox generator running as
        root) must belong to the account Dovecot reads mail as.
        """
        home = self.mail_dir
        for directory in [p for p in path.parents if home in p.parents]:
            os.chown(directory, self.mail_uid, self.mail_gid)
        os.chown(path, self.mail_uid, self.mail_gid)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), self.mail_uid, self.mail_gid)

    # Administration ----------------------------------------------------

    def doveadm(self, *args: str) -> str:
        """Run doveadm against this instance and return its output."""
        result = subprocess.run(
            [self.doveadm_bin, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DovecotError(
                f"doveadm {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result.stdout

    def who(self, username: str) -> int:
        """Return how many IMAP connections the user has logged in right now.

        A connection closed a moment ago may still be counted briefly.
        """
        output = self.doveadm("who", "-1", username)
        count = 0
        for line in output.splitlines():
            fields = line.split()
            if len(fields) >= 2 and fields[0] == username and fields[1] == "imap":
                count += 1
        return count

    # Process -----------------------------------------------------------

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The Dovecot master process of the last start, if any."""
        return self._process

    @property
    def running(self) -> bool:
        """Whether the Dovecot master process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start Dovecot on this instance's ports and wait until it listens."""
        if self.running:
            return
        busy = [p for p in (self.imap_port, self.imaps_port) if port_open(p)]
        if busy:
            raise DovecotError(f"Ports already in use before start: {busy}")
        # Written on every start, so this instance's ports win even if
        # another instance was pointed at the same directory meanwhile.
        self._write_config()
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.dovecot_bin, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so kill() takes every child with it.
                start_new_session=True,
            )
        _running_servers.add(self)
        deadline = time.monotonic() + START_TIMEOUT
        while not wait_for_ports([self.imap_port, self.imaps_port], timeout=0.1):
            status = self._process.poll()
            if status is not None or time.monotonic() > deadline:
                self.kill()
                why = (
                    f"exited with status {status}"
                    if status is not None
                    else f"was not listening after {START_TIMEOUT:.0f} s"
                )
                raise DovecotError(
                    f"Dovecot did not start: it {why} (workdir {self.workdir}). "
                    f"Log:\n{self._log_tail(log_offset)}"
                )

    def stop(self) -> None:
        """Stop Dovecot cleanly (clients are disconnected; data is kept)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # A frozen server would not act on SIGTERM.
            self._signal_group(signal.SIGCONT)
            # Signalling every process at once, not only the master, makes
            # the master's wait for its children short; a child stuck in
            # start-up still delays it by seconds, hence the grace limit.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_GRACE)
        self._kill_group(process)
        self._process = None
        _running_servers.discard(self)
        self._wait_ports_closed()

    def kill(self) -> None:
        """Kill Dovecot and all its processes at once, as a crash would."""
        process = self._process
        if process is None:
            return
        self._kill_group(process)
        self._process = None
        _running_servers.discard(self)
        self._wait_ports_closed()

    def restart(self) -> None:
        """Stop and start again on the same ports, keeping users and mail."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        """Stop every Dovecot process (SIGSTOP), as a server that hangs.

        Its ports still accept connections (the kernel queues them), but
        nothing answers, not even the greeting, until thaw().
        """
        self._signal_group(signal.SIGSTOP)

    def thaw(self) -> None:
        """Let a frozen Dovecot go on (SIGCONT)."""
        self._signal_group(signal.SIGCONT)

    def _signal_group(self, signum: int) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signum)

    def _kill_group(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            raise DovecotError(f"Dovecot (pid {process.pid}) did not die") from exc

    def _wait_ports_closed(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(port_open(p) for p in (self.imap_port, self.imaps_port)):
            if time.monotonic() > deadline:
                raise DovecotError("Dovecot's ports stayed open after it stopped.")
            time.sleep(0.02)

    def _log_tail(self, offset: int = 0, lines: int = 30) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def __enter__(self) -> DovecotServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"<DovecotServer {self.variant} imap={self.imap_port} "
            f"imaps={self.imaps_port} workdir={self.workdir}>"
        )


_running_servers: set[DovecotServer] = set()


@atexit.register
def _stop_leftovers() -> None:
    # A crashed test run must not leave Dovecot processes behind.
    for server in list(_running_servers):
        with contextlib.suppress(DovecotError):
            server.kill()


def start_dovecot(
    workdir: Path,
    *,
    variant: str = "full",
    quota_mb: int = 200,
    allow_plaintext_auth: bool = False,
    tls_dir: Path | None = None,
    ports: tuple[int, int] | None = None,
    listen: str | None = None,
    attic_kb: int | None = None,
    connections_per_user: int = 10,
) -> DovecotServer:
    """Start a Dovecot instance in workdir and return it once it listens.

    variant "full" offers what Dovecot offers (CONDSTORE, QRESYNC, IDLE,
    MOVE, COMPRESS=DEFLATE, ...) with "/" as hierarchy separator; "reduced"
    hides those extensions and uses ".", like Courier; "prefixed" is
    "reduced" with the personal folders under "INBOX." and no special
    folders made for the user (Courier's and old Cyrus's layout);
    "no-uidplus" is "reduced" without UIDPLUS. quota_mb is the
    default per-user quota. allow_plaintext_auth permits LOGIN on the plain
    port before STARTTLS. tls_dir holds the CA and server certificate
    (made there if missing; default workdir/tls): pass the same one to
    several instances so that one CA file trusts them all. ports fixes the
    (STARTTLS, IMAPS) ports and listen the addresses (a container's demo
    server listens on all of them); both are picked for loopback by default.
    attic_kb adds folders under "Attic/" (a namespace of their own) with a
    quota of that many KiB of their own: a move into them can be refused.
    connections_per_user is mail_max_userip_connections (Dovecot's default
    is 10): a bench with many clients of one user raises it.
    """
    server = DovecotServer(
        Path(workdir),
        variant=variant,
        quota_mb=quota_mb,
        allow_plaintext_auth=allow_plaintext_auth,
        tls_dir=tls_dir,
        ports=ports,
        listen=listen,
        attic_kb=attic_kb,
        connections_per_user=connections_per_user,
    )
    server.start()
    return server
