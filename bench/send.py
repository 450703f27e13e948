"""Time sending a message through the real stack, from the click to the SMTP server.

Usage: python bench/send.py [--sends 50] [--database-url ...] [--back-to-back]

Starts the stack of bench/engine.py (Dovecot, Redis, a Celery worker,
uvicorn) and an SMTP server of its own on loopback, with UNDO_SEND_SECONDS
at 0 (the time to undo a send is a wait the user chooses, not work), signs
a user in and, --sends times, one after the other, posts the compose form
as a browser does and times:

- "Send" answered: the POST until its redirect to the message's status;
- accepted: the POST until the SMTP server has taken the message (its DATA
  answered), found by its subject.

Each send starts once the worker has put the last one's copy in Sent and
read it back (the cache has it), as a person's sends are seconds apart;
--back-to-back sends as soon as the SMTP server has the last message, so
that each answer shares the two cores with the last send's work.

Goals: "Send" answered p50 <= 20 ms, accepted p50 <= 500 ms.
Everything it starts it stops, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import PASSWORD, Client, Mailbox, Stack, Stat, fmt, poll
from devtools.dovecot import make_traversable
from devtools.smtp_server import SmtpServer, start_smtp_server

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TEXT = "Dear team,\n\n" + "The plan for the quarter, line by line.\n" * 60


def _use_smtp(account_id: int, smtp: SmtpServer) -> None:
    from accounts.models import MailAccount

    MailAccount.objects.filter(id=account_id).update(
        smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none"
    )


def run(stack: Stack, smtp: SmtpServer, sends: int, settle: bool) -> None:
    from webmail.models import Message

    mailbox = Mailbox(stack, 50)
    mailbox.create()
    _use_smtp(mailbox.account_id, smtp)
    client: Client = stack.client()
    client.sign_in(mailbox.login, PASSWORD)
    compose = f"/mail/{mailbox.account_id}/compose/"
    page = client.get(compose)
    token = CSRF_INPUT.search(page.body)
    assert page.status == 200 and token is not None, page.status

    answered, accepted = Stat(), Stat()
    for n in range(sends):
        subject = f"Quarterly plan, take {n}"
        form = {
            "csrfmiddlewaretoken": token[1],
            "to": "Carol <carol@example.org>",
            "subject": subject,
            "body": TEXT,
        }
        started = time.perf_counter()
        reply = client.post(compose, form)
        answered.add((time.perf_counter() - started) * 1000)
        assert reply.status == 302, reply.status

        def arrived(wanted: bytes = subject.encode()) -> bool:
            return any(wanted in m.data for m in smtp.messages)

        assert poll(arrived, timeout=30, interval=0.002), f"{subject} never arrived"
        accepted.add((time.perf_counter() - started) * 1000)
        if settle:
            # A person's sends are seconds apart: the next one starts once
            # the worker has put this one's copy in Sent and read it back.
            copies = Message.objects.filter(
                folder__account_id=mailbox.account_id,
                folder__special_use__iexact="\\Sent",
                subject=subject,
            )
            assert poll(copies.exists, timeout=30, interval=0.01), "no copy in Sent"
            time.sleep(0.2)

    print(f"{'what':<32} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'Send answered':<32} {fmt(answered.p50):>8} {fmt(answered.p95):>8}")
    print(f"{'accepted by the SMTP server':<32} {fmt(accepted.p50):>8} ", end="")
    print(f"{fmt(accepted.p95):>8}")
    pace = "once the last one's copy was in Sent" if settle else "back to back"
    print(f"{sends} messages, each sent {pace}")
    print("goals: answered p50 <= 20 ms, accepted p50 <= 500 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--back-to-back",
        action="store_true",
        help="send the next message as soon as the SMTP server has the last",
    )
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="send-bench-", dir="/tmp"))
    make_traversable(root)
    # Every process of the stack inherits these: the undo window is left
    # out, and plain SMTP to the loopback server is allowed.
    os.environ.update(UNDO_SEND_SECONDS="0", MAIL_ALLOWED_PLAINTEXT_HOSTS="127.0.0.1")
    stack = Stack(root, options.database_url)
    smtp = start_smtp_server()
    try:
        stack.start()
        run(stack, smtp, options.sends, settle=not options.back_to_back)
    finally:
        stack.stop()
        smtp.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
