"""Run Cyrus IMAP 3.6 (Debian's) as a test server on free loopback ports.

The binaries come from the cyrus-imapd .deb unpacked by devtools.debpkg;
master, the databases' tools and SASL from the installed cyrus-common and
sasl2-bin. Everything lives in one work directory: imapd.conf and
cyrus.conf, the sasldb of passwords, the mailbox databases and spool.

Cyrus's master does not hand its -C to the services it starts: every
command in cyrus.conf names the configuration itself, or the service would
quietly use /etc/imapd.conf. Folders sit beside INBOX with "/" as
delimiter (Cyrus 3's upstream defaults: altnamespace, unixhierarchysep).
idled is running, so IDLE pushes changes at once.
"""

from __future__ import annotations

import imaplib
import pwd
import subprocess
from pathlib import Path

from devtools.debpkg import cyrus_imapd
from devtools.imapserver import (
    ImapServerError,
    ProcessServer,
    create_special_folders,
)

MASTER = "/usr/lib/cyrus/bin/master"
CTL_CYRUSDB = "/usr/lib/cyrus/bin/ctl_cyrusdb"
SASLPASSWD = "/usr/sbin/saslpasswd2"
ACCOUNT = "cyrus"
SERVERNAME = "webmail-test-cyrus"
ADMIN = "cyrus"

IMAPD_CONF = """\
configdirectory: {work}/config
proc_path: {work}/config/proc
mboxname_lockpath: {work}/config/lock
defaultpartition: default
partition-default: {work}/spool
sievedir: {work}/sieve
servername: {servername}
cyrus_user: cyrus
admins: {admin}
umask: 077
altnamespace: yes
unixhierarchysep: yes
virtdomains: userid
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {work}/sasldb2
sasl_mech_list: PLAIN LOGIN
allowplaintext: yes
tls_server_cert: {work}/tls/server.pem
tls_server_key: {work}/tls/server.key
lmtpsocket: {work}/config/socket/lmtp
idlesocket: {work}/config/socket/idle
notifysocket: {work}/config/socket/notify
quota_db: quotalegacy
specialusealways: 1
hashimapspool: false
"""

CYRUS_CONF = """\
START {{
  recover cmd="{ctl} -C {conf} -r"
}}
SERVICES {{
  imap cmd="{bin}/imapd -C {conf}" listen="127.0.0.1:{imap}" prefork=0 maxchild=100
  imaps cmd="{bin}/imapd -C {conf} -s" listen="127.0.0.1:{imaps}" prefork=0 maxchild=100
}}
EVENTS {{
  checkpoint cmd="{ctl} -C {conf} -c" period=30
}}
DAEMON {{
  idled cmd="{bin}/idled -C {conf}"
}}
"""


class CyrusServer(ProcessServer):
    """One Cyrus instance: its ports, users and master process.

    Clients connect as to the Dovecot fixtures (host, imap_port, imaps_port,
    ca_cert_path); add_user makes a mailbox with the special folders
    (flagged with SPECIAL-USE) and a quota.
    """

    name = "Cyrus"
    kind = "cyrus"
    delimiter = "/"

    def __init__(
        self, workdir: Path, *, quota_mb: int = 200, tls_dir: Path | None = None
    ) -> None:
        super().__init__(workdir, tls_dir)
        self.quota_mb = quota_mb
        self.admin_password = "admin-" + self.workdir.name
        account = pwd.getpwnam(ACCOUNT)
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.package = cyrus_imapd()
        self.conf = self.workdir / "imapd.conf"
        self.sasldb = self.workdir / "sasldb2"

    def _prepare(self) -> None:
        work = self.workdir
        for sub in ("config/db", "config/proc", "config/socket", "config/lock",
                    "config/log", "config/user", "config/quota", "spool",
                    "sieve", "tls"):  # fmt: skip
            (work / sub).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            IMAPD_CONF.format(work=work, servername=SERVERNAME, admin=ADMIN)
        )
        (work / "cyrus.conf").write_text(
            CYRUS_CONF.format(
                ctl=CTL_CYRUSDB,
                conf=self.conf,
                bin=self.package.path("/usr/lib/cyrus/bin"),
                imap=self.imap_port,
                imaps=self.imaps_port,
            )
        )
        self.copy_owned(self.server_cert_path, work / "tls/server.pem", *self._ids)
        self.copy_owned(self.server_key_path, work / "tls/server.key", *self._ids)
        if not self.sasldb.exists():
            self._set_password(ADMIN, self.admin_password)
        subprocess.run(["chown", "-R", f"{self.uid}:{self.gid}", str(work)], check=True)

    @property
    def _ids(self) -> tuple[int, int]:
        return self.uid, self.gid

    def _command(self) -> list[str]:
        return [MASTER, "-C", str(self.conf), "-M", str(self.workdir / "cyrus.conf"),
                "-p", str(self.workdir / "master.pid")]  # fmt: skip

    def _started(self) -> None:
        self.wait_login(ADMIN, self.admin_password)

    def _set_password(self, username: str, password: str) -> None:
        # SASL reads "name@domain" as a name in the realm "domain".
        local, _, realm = username.rpartition("@")
        if not local:
            local, realm = username, SERVERNAME
        subprocess.run(
            [SASLPASSWD, "-f", str(self.sasldb), "-u", realm, "-c", "-p", local],
            input=password.encode(),
            check=True,
            capture_output=True,
        )
        self.sasldb.chmod(0o640)
        subprocess.run(
            ["chown", f"{self.uid}:{self.gid}", str(self.sasldb)], check=True
        )

    def add_user(
        self,
        username: str,
        password: str,
        quota_mb: int | None = None,
        *,
        special_folders: bool = True,
    ) -> None:
        """Create a mailbox with special folders, a password and a quota."""
        self._set_password(username, password)
        admin = self.login(ADMIN, self.admin_password)
        try:
            mailbox = f'"user/{username}"'
            status, data = admin.create(mailbox)
            if status != "OK":
                raise ImapServerError(f"CREATE {mailbox} failed: {data}")
            kb = (quota_mb or self.quota_mb) * 1024
            admin._simple_command("SETQUOTA", mailbox, f"(STORAGE {kb})")
        finally:
            admin.logout()
        client = self._user_login(username, password)
        try:
            if special_folders:
                create_special_folders(client, flagged=True)
        finally:
            client.logout()

    def who(self, username: str) -> int:
        """Return how many IMAP connections the user has logged in right now.

        Each imapd process serving a logged-in user keeps a file in the
        proc directory: service, client, user, mailbox, command.
        """
        count = 0
        for entry in (self.workdir / "config/proc").iterdir():
            try:
                fields = entry.read_text().split("\t")
            except OSError:  # the connection ended meanwhile
                continue
            alive = entry.name.isdigit() and Path(f"/proc/{entry.name}").exists()
            if alive and len(fields) > 2 and fields[2] == username:
                count += 1
        return count

    def _user_login(self, username: str, password: str) -> imaplib.IMAP4_SSL:
        try:
            return self.login(username, password)
        except imaplib.IMAP4.error as exc:
            raise ImapServerError(f"{username} cannot log in: {exc}") from exc


def start_cyrus(
    workdir: Path, *, quota_mb: int = 200, tls_dir: Path | None = None
) -> CyrusServer:
    """Start a Cyrus instance in workdir and return it once it accepts logins."""
    server = CyrusServer(Path(workdir), quota_mb=quota_mb, tls_dir=tls_dir)
    server.start()
    return server
