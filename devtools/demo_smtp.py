"""The demo's mail server: SMTP submission that delivers into the demo Dovecot.

`devtools/demo.py` runs it beside the demo Dovecot, on a loopback port. It
asks for STARTTLS (with the demo Dovecot's certificate) and AUTH, checking
the login against Dovecot's own users (`doveadm auth test`). Mail for the
demo domain is delivered into the recipient's INBOX by Dovecot's LDA
(`dovecot-lda`, part of dovecot-core), as a real mail server's final hop
does; an address of the demo domain that Dovecot does not know is refused
at RCPT. Mail for any other domain never leaves the machine: it is kept as
an .eml file under the kept directory, and a line in the demo's terminal
says so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from devtools.dovecot import find_binary
from devtools.ports import LOOPBACK

LDA = "/usr/lib/dovecot/dovecot-lda"


class DemoDelivery:
    """What the relay does with logins and messages, against one Dovecot."""

    def __init__(self, dovecot_config: Path, domain: str, kept_dir: Path) -> None:
        self.dovecot_config = dovecot_config
        self.domain = domain.lower()
        self.kept_dir = kept_dir
        self.doveadm = find_binary("doveadm")

    def _doveadm(self, *args: str, stdin: bytes = b"") -> bool:
        result = subprocess.run(
            [self.doveadm, "-c", str(self.dovecot_config), *args],
            input=stdin,
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def local(self, address: str) -> bool:
        """Whether address belongs to the demo domain."""
        return address.rpartition("@")[2].lower() == self.domain

    def known(self, address: str) -> bool:
        """Whether Dovecot has a mailbox for this demo-domain address."""
        return self._doveadm("user", address)

    def check_login(self, login: str, password: str) -> bool:
        """Whether Dovecot accepts this login and password."""
        # "--": a password may start with "-", which doveadm would read as
        # an option.
        return self._doveadm("auth", "test", "--", login, password)

    def deliver(self, sender: str, recipient: str, data: bytes) -> str:
        """Hand the message to Dovecot's LDA; an SMTP reply line."""
        result = subprocess.run(
            [LDA, "-c", str(self.dovecot_config), "-d", recipient, "-f", sender],
            input=data,
            capture_output=True,
            check=False,
        )
        if result.returncode == 0:
            return "250 OK"
        say(f"Demo mail server: delivery to {recipient} failed: {result.stderr!r}")
        return "451 4.3.0 Delivery failed; try again later"

    def keep(self, sender: str, recipients: list[str], data: bytes) -> Path:
        """Keep a message for other domains in a file, and say so."""
        self.kept_dir.mkdir(parents=True, exist_ok=True)
        path = self.kept_dir / f"{time.time_ns()}.eml"
        path.write_bytes(data)
        say(
            f"Demo mail server: kept, not sent: from {sender} to "
            f"{', '.join(recipients)} ({path})"
        )
        return path


class _Handler:
    def __init__(self, delivery: DemoDelivery) -> None:
        self.delivery = delivery

    async def handle_RCPT(
        self,
        smtp: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        delivery = self.delivery
        if delivery.local(address):
            known = await asyncio.to_thread(delivery.known, address)
            if not known:
                return f"550 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, smtp: SMTP, session: Session, envelope: Envelope
    ) -> str:
        delivery = self.delivery
        data = bytes(envelope.original_content or b"")
        sender = envelope.mail_from or ""
        local = [r for r in envelope.rcpt_tos if delivery.local(r)]
        others = [r for r in envelope.rcpt_tos if not delivery.local(r)]
        for recipient in local:
            reply = await asyncio.to_thread(delivery.deliver, sender, recipient, data)
            if not reply.startswith("250"):
                return reply
        if others:
            await asyncio.to_thread(delivery.keep, sender, others, data)
        return "250 Message accepted for delivery"


def start_relay(
    delivery: DemoDelivery, port: int, cert: Path, key: Path, host: str = LOOPBACK
) -> Controller:
    """Start the relay in a thread of this process; stop it with .stop()."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and delivery.check_login(
            data.login.decode(), data.password.decode()
        )
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        _Handler(delivery),
        hostname=host,
        port=port,
        decode_data=False,
        ready_timeout=10.0,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    return controller


def say(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dovecot-config", type=Path, required=True)
    parser.add_argument("--domain", required=True)
    parser.add_argument("--kept-dir", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    options = parser.parse_args()
    # aiosmtpd logs every connection; the terminal gets only what matters.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    delivery = DemoDelivery(options.dovecot_config, options.domain, options.kept_dir)
    controller = start_relay(delivery, options.port, options.cert, options.key)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
