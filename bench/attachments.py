"""What a 25 MB attachment costs the web and worker processes in memory.

Usage: python bench/attachments.py [--mb 25] [--chunk-kib 1024]

Starts the engine benchmark's stack (bench/_support.py: Dovecot, Redis,
one Celery worker, uvicorn with one web process) and an SMTP server in
this process that takes messages up to 64 MiB and keeps only their size
and a hash. A signed-in client uploads a file of --mb megabytes of random
bytes in chunks, as the compose page does, and sends it; the worker puts
it into the message, submits it and APPENDs the copy to Sent. A small
upload and send first warms both processes up. Printed: each process's
RSS high-water mark (VmHWM) before and after the large one, and whether
either grew by more than 30 MB; also the time the upload and the send took
and whether the message the server received carries the file unchanged.
Then the same for a draft: the file uploaded again and saved in a draft
(the worker APPENDs it to Drafts from the upload's file), saved again once
the upload is gone (the file fetched from the draft's first copy), and
sent from the draft's copy.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from email import policy
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench._support import PASSWORD, Client, Mailbox, Stack, poll
from devtools.dovecot import make_traversable
from devtools.ports import LOOPBACK, free_port

LIMIT_GROWTH_MB = 30


class _Keeper:
    """Keeps the last message received, to check it, in this process."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(bytes(envelope.original_content or b""))
        return "250 OK"


def _smtp() -> tuple[Controller, _Keeper, int]:
    keeper = _Keeper()
    port = free_port()
    controller = Controller(
        keeper,
        hostname=LOOPBACK,
        port=port,
        decode_data=False,
        data_size_limit=64 * 1024 * 1024,
        ready_timeout=10.0,
    )
    controller.start()
    return controller, keeper, port


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"No {field} for {pid}")


def _post_bytes(client: Client, path: str, data: bytes) -> dict[str, Any]:
    connection = client._connection()
    headers = {
        "Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        "X-CSRFToken": client.cookies.get("csrftoken", ""),
        "Content-Type": "application/octet-stream",
        "Referer": f"http://{client.host}:{client.port}/",
    }
    connection.request("POST", path, body=data, headers=headers)
    answer = connection.getresponse()
    body = answer.read()
    if answer.status != 200:
        raise RuntimeError(f"Chunk refused ({answer.status}): {body[:300]!r}")
    result: dict[str, Any] = json.loads(body)
    return result


def _upload(
    client: Client, account_id: int, path: Path, chunk: int, key: str
) -> tuple[float, int]:
    """Upload path in chunks, as the compose page does; return seconds, its id."""
    page = client.get(f"/mail/{account_id}/compose/")
    assert page.status == 200, page.status
    size = path.stat().st_size
    started = time.perf_counter()
    answer = client.post(
        f"/mail/{account_id}/compose/uploads/",
        {"key": key, "name": path.name, "type": "", "size": str(size)},
    )
    if answer.status != 201:
        raise RuntimeError(f"Upload refused ({answer.status}): {answer.body}")
    upload = json.loads(answer.body)
    with path.open("rb") as file:
        offset = 0
        while offset < size:
            data = file.read(chunk)
            state = _post_bytes(client, f"{upload['url']}?offset={offset}", data)
            offset = state["received"]
    return time.perf_counter() - started, int(upload["id"])


def _send(client: Client, account_id: int, **fields: str) -> tuple[float, int]:
    """Send the compose form with these fields; return seconds until the SMTP
    server has it and the Sent copy is saved, and the message's id."""
    from webmail.models import OutgoingMessage

    before = set(OutgoingMessage.objects.values_list("id", flat=True))
    started = time.perf_counter()
    sent = client.post(
        f"/mail/{account_id}/compose/",
        {
            "to": "reader@example.org",
            "cc": "",
            "bcc": "",
            "subject": "Attachment bench",
            "body": "The file.",
            **fields,
        },
    )
    if sent.status != 302:
        raise RuntimeError(f"Send refused ({sent.status}): {sent.body[:500]}")
    [row_id] = set(OutgoingMessage.objects.values_list("id", flat=True)) - before

    def settled() -> bool:
        row = OutgoingMessage.objects.get(id=row_id)
        return row.state in ("sent", "failed") and bool(row.sent_copy)

    if not poll(settled, timeout=300, interval=0.1):
        raise RuntimeError("The message was not sent in 5 minutes.")
    row = OutgoingMessage.objects.get(id=row_id)
    if row.state != "sent" or row.sent_copy != "saved":
        raise RuntimeError(f"Send failed: {row.error_kind} {row.error_detail}")
    return time.perf_counter() - started, row_id


def _upload_and_send(
    client: Client, account_id: int, path: Path, chunk: int, key: str
) -> tuple[float, float]:
    """Upload path in chunks and send it; return seconds to upload, to send."""
    uploaded, upload_id = _upload(client, account_id, path, chunk, key)
    sent, _ = _send(client, account_id, upload_key=key, upload=str(upload_id))
    return uploaded, sent


def _save_draft(client: Client, draft: dict[str, Any], files: str) -> dict[str, Any]:
    """Save the draft (a new one without an id) with these files; wait until
    the worker has stored it in Drafts; return its id and version."""
    from webmail.models import Draft

    url = draft.get("url") or draft["new_url"]
    fields = {"subject": "Draft bench", "body": f"Files: {files}", "files": files}
    if "version" in draft:
        fields["version"] = str(draft["version"])
    answer = client.post(url, fields)
    if answer.status != 200:
        raise RuntimeError(f"Draft refused ({answer.status}): {answer.body[:300]}")
    saved: dict[str, Any] = json.loads(answer.body)

    def stored() -> bool:
        row = Draft.objects.get(id=saved["id"])
        return row.saved_version >= saved["version"] or bool(row.error_kind)

    if not poll(stored, timeout=300, interval=0.1):
        raise RuntimeError("The draft was not stored in 5 minutes.")
    row = Draft.objects.get(id=saved["id"])
    if row.error_kind or len(row.files) != 1:
        raise RuntimeError(f"Draft not stored with its file: {row.error_detail}")
    return saved


def _draft_and_send(
    client: Client, account_id: int, path: Path, chunk: int
) -> tuple[float, float, float]:
    """A draft with the file, stored from the upload; stored again once the
    upload is gone (the file fetched from the first copy); then sent from
    its copy. Returns the seconds of each."""
    from webmail.models import Upload
    from webmail.shared.uploads import remove

    _, upload_id = _upload(client, account_id, path, chunk, "draft")
    started = time.perf_counter()
    new = {"new_url": f"/mail/{account_id}/drafts/"}
    draft = _save_draft(client, new, f"u{upload_id}")
    first = time.perf_counter() - started
    remove(Upload.objects.filter(id=upload_id))
    started = time.perf_counter()
    draft = _save_draft(client, draft, f"u{upload_id}")
    second = time.perf_counter() - started
    sent, _ = _send(
        client, account_id, draft=str(draft["id"]), draft_file=f"u{upload_id}"
    )
    return first, second, sent


def _random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        left = size
        while left:
            block = os.urandom(min(left, 1024 * 1024))
            digest.update(block)
            file.write(block)
            left -= len(block)
    return digest.hexdigest()


def _received_unchanged(keeper: _Keeper, digest: str) -> bool:
    received = email.message_from_bytes(keeper.messages[-1], policy=policy.default)
    [part] = received.iter_attachments()
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return hashlib.sha256(data).hexdigest() == digest


def _growth(before: dict[str, int], after: dict[str, int]) -> bool:
    """Print each process's high-water marks; whether none grew too much."""
    ok = True
    print(f"  {'process':8} {'HWM before':>12} {'HWM after':>12} {'growth':>10}")
    for name in before:
        growth = (after[name] - before[name]) / 1024
        ok = ok and growth <= LIMIT_GROWTH_MB
        print(
            f"  {name:8} {before[name] / 1024:10.1f} MB {after[name] / 1024:9.1f}"
            f" MB {growth:7.1f} MB"
        )
    print(f"  every process grew by at most {LIMIT_GROWTH_MB} MB: {ok}")
    return ok


def run(megabytes: int, chunk: int) -> bool:
    root = Path(tempfile.mkdtemp(prefix="bench-attach-"))
    make_traversable(root)
    os.environ["MAIL_ALLOWED_PLAINTEXT_HOSTS"] = LOOPBACK
    os.environ["COMPOSE_MAX_ATTACHMENT_MB"] = str(megabytes + 1)
    os.environ["COMPOSE_UPLOAD_CHUNK"] = str(chunk)
    controller, keeper, smtp_port = _smtp()
    stack = Stack(root, None, web_workers=1)
    try:
        stack.start()
        mailbox = Mailbox(stack, 1)
        mailbox.create()
        from accounts.models import MailAccount

        account = MailAccount.objects.get(id=mailbox.account_id)
        account.smtp_host, account.smtp_port = LOOPBACK, smtp_port
        account.smtp_security = "none"
        account.save()
        client = stack.client()
        client.sign_in(mailbox.login, PASSWORD)
        assert stack.web is not None and stack.worker is not None
        pids = {"web": stack.web.pid, "worker": stack.worker.process.pid}

        small = root / "warm-up.bin"
        _random_file(small, 200_000)
        _upload_and_send(client, account.id, small, chunk, "warm")
        _draft_and_send(client, account.id, small, chunk)
        asyncio.run(asyncio.sleep(0.5))
        before = {name: _status_kib(pid, "VmHWM") for name, pid in pids.items()}

        big = root / "big.bin"
        size = megabytes * 1024 * 1024
        digest = _random_file(big, size)
        uploaded, sent = _upload_and_send(client, account.id, big, chunk, "big")
        after = {name: _status_kib(pid, "VmHWM") for name, pid in pids.items()}
        same = _received_unchanged(keeper, digest)

        print(f"\nA {megabytes} MiB attachment in {chunk // 1024} KiB chunks")
        print(f"  upload {uploaded:.1f} s, send + Sent copy {sent:.1f} s")
        print(f"  received unchanged: {'yes' if same else 'NO'}")
        print(f"  message size {len(keeper.messages[-1]) / 1024 / 1024:.1f} MiB")
        ok = _growth(before, after) and same

        first, second, sent = _draft_and_send(client, account.id, big, chunk)
        later = {name: _status_kib(pid, "VmHWM") for name, pid in pids.items()}
        same = _received_unchanged(keeper, digest)
        print("\nThe same file in a draft, stored from the upload, stored again from")
        print("the draft's copy (the upload gone), then sent from that copy")
        print(f"  stored {first:.1f} s, again {second:.1f} s, sent {sent:.1f} s")
        print(f"  received unchanged: {'yes' if same else 'NO'}")
        return _growth(after, later) and same and ok
    finally:
        stack.stop()
        controller.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--chunk-kib", type=int, default=1024)
    args = parser.parse_args()
    sys.exit(0 if run(args.mb, args.chunk_kib * 1024) else 1)


if __name__ == "__main__":
    main()
