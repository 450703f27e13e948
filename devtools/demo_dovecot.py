"""Run only the demo Dovecot, in the foreground (the compose `demo` profile).

It listens on every address, so a web container can reach it by service name;
its certificate is self-made, so it prints the fingerprint an admin pins in the
mail account settings.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from devtools.demo import DEMO_ADDRESS, DEMO_PASSWORD, seed_mailbox
from devtools.dovecot import start_dovecot
from devtools.tls import cert_fingerprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=993, help="the IMAPS port")
    parser.add_argument("--starttls-port", type=int, default=143)
    options = parser.parse_args()

    server = start_dovecot(
        options.workdir,
        ports=(options.starttls_port, options.port),
        listen="*",
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.add_user(DEMO_ADDRESS, DEMO_PASSWORD)
        seed_mailbox(server, DEMO_ADDRESS, options.workdir / ".seeded")
        print(
            f"Demo IMAP server: IMAPS port {options.port}, STARTTLS port "
            f"{options.starttls_port}; login {DEMO_ADDRESS} / {DEMO_PASSWORD}; "
            f"certificate SHA-256 {cert_fingerprint(server.server_cert_path)}",
            flush=True,
        )
        while server.running:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
