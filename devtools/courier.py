"""Run Courier-IMAP 5.0 (Debian's) as a test server on free loopback ports.

imapd and imaplogin come from the courier-imap .deb unpacked by
devtools.debpkg; couriertcpd, couriertls and authdaemond from the installed
courier-base and courier-authdaemon. Users are virtual (userdb), all kept
as the "courier" account, each with a Maildir++ quota.

courier-authlib has its paths built in (/etc/courier/authdaemonrc and
userdb.dat, the socket under /run/courier). So the server runs in a mount
namespace of its own (unshare -m) in which the work directory's etc/ and
run/ are mounted over those two: the host's are never touched, and several
instances run side by side.

Courier has no SPECIAL-USE, CONDSTORE, QRESYNC, ESEARCH, MOVE; its folders
live under "INBOX." with "." as delimiter; by default IDLE does not push
(news comes at DONE or at the next command), and SELECT sends no UIDNEXT.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from pathlib import Path

from devtools.debpkg import courier_imap
from devtools.imapserver import ProcessServer, create_special_folders

AUTHDAEMOND = "/usr/lib/courier/courier-authlib/authdaemond"
COURIERTCPD = "/usr/sbin/couriertcpd"
COURIERTLS = "/usr/bin/couriertls"
MAKEUSERDB = "/usr/sbin/makeuserdb"
MAILDIRMAKE = "/usr/bin/maildirmake.courier"
ACCOUNT = "courier"

AUTHDAEMONRC = """\
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=3
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
"""

# Debian's /etc/courier/imapd and imapd-ssl, with this instance's paths.
IMAPD_ENV = """\
MAXDAEMONS=60
MAXPERIP=60
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT \
THREAD=REFERENCES SORT QUOTA IDLE"
IMAP_CAPABILITY_TLS="$IMAP_CAPABILITY AUTH=PLAIN"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_IDLE_TIMEOUT=60
IMAP_ENHANCEDIDLE=0
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_USELOCKS=1
IMAP_SHAREDINDEXFILE={work}/etc/shared/index
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=Trash:7
IMAP_MOVE_EXPUNGE_TO_TRASH=0
IMAP_STARTTLS=YES
IMAP_TLS_REQUIRED=0
COURIERTLS={couriertls}
TLS_CERTFILE={work}/etc/imapd.pem
TLS_DHPARAMS={work}/etc/dhparams.pem
TLS_VERIFYPEER=NONE
TLS_CACHEFILE={work}/run/tlscache
TLS_CACHESIZE=524288
MAILDIRPATH=Maildir
"""

# Runs inside the private mount namespace; both listeners stay in the
# foreground (no -pid), so the process group holds every Courier process.
LAUNCH = """\
set -eu
mount --bind {work}/etc /etc/courier
mount --bind {work}/run /run/courier
{authdaemond} &
for _ in $(seq 100); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.05; done
set -a; . {work}/etc/imapd.env; set +a
umask 022
TCPD="{tcpd} -address=127.0.0.1 -maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP \
-nodnslookup -noidentlookup"
$TCPD -stderr={work}/imapd.log {imap} {imaplogin} {imapd} Maildir &
IMAP_TLS=1 IMAP_STARTTLS=NO $TCPD -stderr={work}/imapd-ssl.log {imaps} \
{couriertls} -server -tcpd -user=courier {imaplogin} {imapd} Maildir &
wait
"""


class CourierServer(ProcessServer):
    """One Courier instance: its ports, users and process group."""

    name = "Courier"
    kind = "courier"
    delimiter = "."

    def __init__(
        self, workdir: Path, *, quota_mb: int = 200, tls_dir: Path | None = None
    ) -> None:
        super().__init__(workdir, tls_dir)
        self.quota_mb = quota_mb
        account = pwd.getpwnam(ACCOUNT)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.package = courier_imap()
        self.etc = self.workdir / "etc"
        self.run_dir = self.workdir / "run"
        self.homes = self.workdir / "home"
        self.userdb = self.etc / "userdb"

    def _prepare(self) -> None:
        for directory in (self.etc / "shared", self.run_dir / "authdaemon", self.homes):
            directory.mkdir(parents=True, exist_ok=True)
        (self.etc / "authdaemonrc").write_text(AUTHDAEMONRC)
        (self.etc / "shared" / "index").touch()
        work = self.workdir
        (self.etc / "imapd.env").write_text(
            IMAPD_ENV.format(work=work, couriertls=COURIERTLS)
        )
        pem = self.etc / "imapd.pem"
        pem.write_bytes(
            self.server_key_path.read_bytes() + self.server_cert_path.read_bytes()
        )
        os.chown(pem, self.uid, self.gid)
        pem.chmod(0o600)
        host_dh = Path("/etc/courier/dhparams.pem")
        if host_dh.exists():
            shutil.copyfile(host_dh, self.etc / "dhparams.pem")
            os.chown(self.etc / "dhparams.pem", self.uid, self.gid)
        os.chown(self.run_dir / "authdaemon", self.uid, self.gid)
        (self.run_dir / "authdaemon").chmod(0o750)
        cache = self.run_dir / "tlscache"
        cache.unlink(missing_ok=True)
        cache.touch(mode=0o600)
        os.chown(cache, self.uid, self.gid)
        if not self.userdb.exists():
            self.userdb.touch(mode=0o600)
            self._make_userdb()
        imaplogin = self.package.path("/usr/lib/courier/courier/imaplogin")
        launch = LAUNCH.format(
            work=shlex.quote(str(work)),
            authdaemond=AUTHDAEMOND,
            tcpd=COURIERTCPD,
            couriertls=COURIERTLS,
            imaplogin=shlex.quote(str(imaplogin)),
            imapd=shlex.quote(str(self.package.path("/usr/bin/imapd"))),
            imap=self.imap_port,
            imaps=self.imaps_port,
        )
        (work / "launch.sh").write_text(launch)

    def _command(self) -> list[str]:
        return ["unshare", "-m", "--propagation", "private",
                "/bin/bash", str(self.workdir / "launch.sh")]  # fmt: skip

    def _make_userdb(self) -> None:
        subprocess.run(
            [MAKEUSERDB, "-f", str(self.userdb)], check=True, capture_output=True
        )

    def add_user(
        self,
        username: str,
        password: str,
        quota_mb: int | None = None,
        *,
        special_folders: bool = True,
    ) -> None:
        """Create a Maildir with the special folders, a password and a quota."""
        home = self.homes / username
        maildir = home / "Maildir"
        home.mkdir(parents=True, exist_ok=True)
        quota = f"{(quota_mb or self.quota_mb) * 1024 * 1024}S"
        subprocess.run([MAILDIRMAKE, str(maildir)], check=True, capture_output=True)
        subprocess.run(
            [MAILDIRMAKE, "-q", quota, str(maildir)], check=True, capture_output=True
        )
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(home)], check=True)
        hashed = subprocess.run(
            ["openssl", "passwd", "-6", "-stdin"],
            input=password,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        with self.userdb.open("a") as userdb:
            userdb.write(
                f"{username}\tuid={self.uid}|gid={self.gid}|home={home}"
                f"|mail={maildir}|systempw={hashed}\n"
            )
        self._make_userdb()
        self.wait_login(username, password)
        client = self.login(username, password)
        try:
            if special_folders:
                create_special_folders(client, flagged=False)
        finally:
            client.logout()


def start_courier(
    workdir: Path, *, quota_mb: int = 200, tls_dir: Path | None = None
) -> CourierServer:
    """Start a Courier instance in workdir and return it once it listens."""
    server = CourierServer(Path(workdir), quota_mb=quota_mb, tls_dir=tls_dir)
    server.start()
    return server
