"""The Cyrus and Courier IMAP binaries, unpacked from Debian's packages.

cyrus-imapd, courier-imap and dovecot-imapd all provide and conflict with
"imap-server": installing one removes the others, and the webmail needs
Dovecot installed. Their support packages (cyrus-common, courier-base,
courier-authdaemon, ...) do not conflict, so scripts/setup installs those
and the two servers' own files are unpacked from their .deb (``apt-get
download`` + ``dpkg-deb -x``) into a cache directory, never installed.

Run ``python -m devtools.debpkg`` to fill the cache (scripts/setup does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Not under a home directory: the servers' own accounts (cyrus, courier) run
# these binaries and must reach them.
CACHE = Path(os.environ.get("WEBMAIL_DEB_CACHE", "/var/cache/webmail-debs"))


@dataclass(frozen=True)
class Unpacked:
    """A package unpacked from its .deb: where its tree is, and its version."""

    package: str
    version: str
    root: Path

    def path(self, inside: str) -> Path:
        """Return the unpacked copy of a path of the package (/usr/bin/x)."""
        return self.root / inside.lstrip("/")


class PackageError(RuntimeError):
    """A package could not be downloaded or unpacked."""


def _installed_version(package: str) -> str | None:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status} ${Version}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    fields = result.stdout.split()
    if result.returncode == 0 and fields[:3] == ["install", "ok", "installed"]:
        return fields[3]
    return None


def _candidate_version(package: str) -> str:
    result = subprocess.run(
        ["apt-cache", "policy", package], capture_output=True, text=True, check=False
    )
    for line in result.stdout.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "Candidate" and value.strip() not in ("", "(none)"):
            return value.strip()
    raise PackageError(f"apt knows no version of {package}: run apt-get update.")


def unpack(package: str, version: str, needed: str) -> Unpacked:
    """Return package unpacked at version, downloading it on first use.

    needed is a file the package must hold (checked after unpacking).
    """
    root = CACHE / f"{package}_{version.replace(':', '%3a')}"
    done = root / ".unpacked"
    if not done.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as download:
            result = subprocess.run(
                ["apt-get", "download", f"{package}={version}"],
                cwd=download,
                capture_output=True,
                text=True,
                check=False,
            )
            debs = list(Path(download).glob("*.deb"))
            if result.returncode != 0 or not debs:
                raise PackageError(
                    f"apt-get download {package}={version} failed: "
                    f"{result.stderr.strip()}"
                )
            shutil.rmtree(root, ignore_errors=True)
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
        CACHE.chmod(0o755)
        done.touch()
    unpacked = Unpacked(package, version, root)
    if not unpacked.path(needed).exists():
        raise PackageError(f"{needed} is not in {package} {version}.")
    return unpacked


def cyrus_imapd() -> Unpacked:
    """Cyrus's imapd and idled, at the version of the installed cyrus-common."""
    version = _installed_version("cyrus-common")
    if version is None:
        raise PackageError("Install cyrus-common (scripts/setup --dev does).")
    return unpack("cyrus-imapd", version, "/usr/lib/cyrus/bin/imapd")


def courier_imap() -> Unpacked:
    """Courier's imapd and imaplogin (it must match courier-base)."""
    if _installed_version("courier-base") is None:
        raise PackageError("Install courier-base (scripts/setup --dev does).")
    version = _installed_version("courier-imap") or _candidate_version("courier-imap")
    return unpack("courier-imap", version, "/usr/bin/imapd")


def main() -> int:
    try:
        for found in (cyrus_imapd(), courier_imap()):
            print(f"{found.package} {found.version} unpacked in {found.root}")
    except (PackageError, subprocess.CalledProcessError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
