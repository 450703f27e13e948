"""Start the whole webmail with a demo mail server, for `scripts/start`.

Starts a Redis of its own, a demo Dovecot with a seeded mailbox and a second
demo user, the demo's mail server (devtools/demo_smtp.py: mail between demo
users arrives, mail for other domains is kept and shown here), a Celery
worker and beat, and uvicorn; prints where to sign in; restarts any of them
that stops (saying so); stops them all on Ctrl-C. Everything it keeps lives
in var/, so a second run finds its data.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from devtools.celery_worker import REPO, CeleryWorker, base_env
from devtools.dovecot import DovecotServer, start_dovecot
from devtools.ports import free_port, wait_for_ports
from devtools.redis_server import start_redis
from devtools.supervise import Command, GaveUp, Supervisor

DEMO_LOGIN = "demo"
DEMO_PASSWORD = "demo"
DEMO_ADDRESS = "demo@example.org"
DEMO_DOMAIN = "example.org"
# A second user to write to: (login, password, address).
DEMO2 = ("demo2", "demo2", "demo2@example.org")
SEED_COUNT = 400


def load_secrets(path: Path) -> dict[str, str]:
    """Keys made on the first run and kept, so sessions and passwords survive."""
    if not path.exists():
        path.write_text(
            f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
            f"CREDENTIALS_KEYS={Fernet.generate_key().decode()}\n"
        )
        path.chmod(0o600)
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line)
    return {key: value for key, value in pairs}


def mail_trust(data: Path, demo_ca: Path) -> dict[str, str]:
    """The demo's own mail servers, trusted beside what the operator set.

    MAIL_ALLOWED_PRIVATE_HOSTS and MAIL_CA_FILE from the environment still
    apply, so the demo can also reach the operator's own mail servers: the
    demo's loopback host is added to the first, its CA to a copy of the
    second.
    """
    allowed = os.environ.get("MAIL_ALLOWED_PRIVATE_HOSTS", "").split(",")
    hosts = dict.fromkeys(["127.0.0.1", *(h.strip() for h in allowed if h.strip())])
    ca_file = demo_ca
    own_ca = os.environ.get("MAIL_CA_FILE", "")
    if own_ca:
        ca_file = data / "mail-ca.pem"
        ca_file.write_bytes(Path(own_ca).read_bytes() + b"\n" + demo_ca.read_bytes())
    return {"MAIL_ALLOWED_PRIVATE_HOSTS": ",".join(hosts), "MAIL_CA_FILE": str(ca_file)}


def seed_mailbox(dovecot: DovecotServer, username: str, marker: Path) -> None:
    if marker.exists():
        return
    from webmail.mailgen import generate_maildir, index_mailbox

    print(f"Seeding the demo mailbox with {SEED_COUNT} messages...", flush=True)
    maildir = dovecot.maildir(username)
    generate_maildir(maildir, count=SEED_COUNT, seed=2026)
    dovecot.chown_mail(maildir)
    index_mailbox(dovecot.doveadm, username)
    marker.touch()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("WEBMAIL_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("WEBMAIL_PORT", "8000"))
    )
    options = parser.parse_args()
    # Started from a shell's background job, this process would inherit
    # SIGINT ignored, while uvicorn and Celery set their own handlers: Ctrl-C
    # would stop them and leave this one restarting them.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    data = Path(os.environ.get("WEBMAIL_DATA_DIR", REPO / "var"))
    data.mkdir(parents=True, exist_ok=True)
    logs = data / "logs"
    logs.mkdir(exist_ok=True)

    supervisor = Supervisor(say)
    redis_port = int(os.environ.get("WEBMAIL_REDIS_PORT", "6391"))
    redis = start_redis(data / "redis", port=redis_port, persist=True)
    supervisor.add("redis", redis, redis.log_path)
    dovecot = start_dovecot(data / "dovecot", variant="full")
    supervisor.add("dovecot", dovecot, dovecot.log_path)
    try:
        dovecot.add_user(DEMO_ADDRESS, DEMO_PASSWORD)
        seed_mailbox(dovecot, DEMO_ADDRESS, data / "dovecot" / ".seeded")
        dovecot.add_user(DEMO2[2], DEMO2[1])
        smtp_port = int(os.environ.get("WEBMAIL_SMTP_PORT", "0")) or free_port()
        smtp = Command(
            [sys.executable, "-m", "devtools.demo_smtp", f"--port={smtp_port}",
             f"--dovecot-config={dovecot.config_path}", f"--domain={DEMO_DOMAIN}",
             f"--kept-dir={data / 'kept-mail'}", f"--cert={dovecot.server_cert_path}",
             f"--key={dovecot.server_key_path}"],
            cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}, log=None,
        )  # fmt: skip
        smtp.start()
        supervisor.add("mail server", smtp)
        if not wait_for_ports([smtp_port], timeout=10):
            raise SystemExit(f"The demo mail server did not start on {smtp_port}.")

        env = base_env(
            **load_secrets(data / "secrets.env"),
            DJANGO_SETTINGS_MODULE="webmail.settings",
            WEBMAIL_DATA_DIR=str(data),
            WEBMAIL_HTTPS="false",
            REDIS_URL=redis.url,
            **mail_trust(data, Path(dovecot.ca_cert_path)),
            ALLOWED_HOSTS=f"{options.host},localhost,127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "collectstatic", "--noinput", "-v", "0")
        for login, password, address in [
            (DEMO_LOGIN, DEMO_PASSWORD, DEMO_ADDRESS),
            DEMO2,
        ]:
            manage(
                env,
                "setup_demo",
                f"--login={login}",
                f"--password={password}",
                f"--address={address}",
                f"--imap-port={dovecot.imaps_port}",
                f"--smtp-port={smtp_port}",
            )

        shards = int(env.get("IMAP_SHARDS", "4"))
        queues = ["default"] + [f"imap.{n}" for n in range(shards)]
        worker = CeleryWorker(env, queues, logs / "worker.log", name="demo")
        worker.start()
        supervisor.add("worker", worker, worker.log_path)
        beat = Command(
            [sys.executable, "-m", "celery", "-A", "webmail", "beat",
             f"--schedule={data / 'celerybeat-schedule'}", "--loglevel=INFO"],
            cwd=REPO, env={**env, "WEBMAIL_PROCESS": "beat"}, log=logs / "beat.log",
        )  # fmt: skip
        beat.start()
        supervisor.add("beat", beat, beat.log)
        web = Command(
            [sys.executable, "-m", "uvicorn", "webmail.asgi:application",
             f"--host={options.host}", f"--port={options.port}", "--no-access-log"],
            cwd=REPO, env=env, log=None,
        )  # fmt: skip
        web.start()
        supervisor.add("web server", web)
        if not wait_for_ports([options.port], timeout=30, host=options.host):
            raise SystemExit(f"The web server did not start on port {options.port}.")

        print(
            "\n"
            f"  Webmail is running: http://{options.host}:{options.port}/\n"
            f"  Sign in as {DEMO_LOGIN!r} with the password {DEMO_PASSWORD!r}.\n"
            f"  Write to {DEMO_ADDRESS} or {DEMO2[2]} (sign in as {DEMO2[0]!r},\n"
            f"  password {DEMO2[1]!r}); mail to other domains is kept in\n"
            f"  {data / 'kept-mail'} and shown here, never sent.\n"
            f"  Logs are in {logs}. Press Ctrl-C to stop.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        # A process that stops is restarted, after a pause that grows while
        # it keeps stopping (devtools/supervise.py).
        supervisor.run()
    except GaveUp as exc:
        say(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
    finally:
        supervisor.stop_all()


def say(line: str) -> None:
    print(line, flush=True)


if __name__ == "__main__":
    main()
