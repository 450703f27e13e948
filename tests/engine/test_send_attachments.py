"""Attachments sent for real: uploaded through the pages in chunks, put into the
message by the worker, received by an SMTP server, filed in Sent on Dovecot."""

from __future__ import annotations

import email
import os
import ssl
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from devtools.smtp_server import SmtpServer, start_smtp_server
from tests.engine.conftest import synced_inbox, wait_for
from tests.engine.test_send import _sent_copies, _settled, _smtp_account
from tests.fixtures.servers import SUBMISSION_LOGIN
from webmail import door
from webmail.mail import compose
from webmail.mime.compose import Outgoing, Recipient
from webmail.mime.parse import parse_message
from webmail.models import AccountState, Message, OutgoingMessage, SendState, Upload

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 1024 * 1024
JAPANESE_NAME = "見積書（2026年度）.pdf"  # noqa: RUF001 (as Japanese users type it)


def _client(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _upload(client: Client, account, name: str, data: bytes) -> int:
    started = client.post(
        f"/mail/{account.id}/compose/uploads/",
        {"key": "k", "name": name, "type": "", "size": str(len(data))},
    )
    assert started.status_code == 201, started.content
    url = started.json()["url"]
    assert started.json()["chunk"] == CHUNK
    for offset in range(0, len(data), CHUNK):
        answer = client.post(
            f"{url}?offset={offset}",
            data[offset : offset + CHUNK],
            content_type="application/octet-stream",
        )
        assert answer.status_code == 200, answer.content
    return int(started.json()["id"])


def _post(client: Client, account, **fields) -> OutgoingMessage:
    values = {"to": "bob@example.org", "cc": "", "bcc": "", "subject": "資料"}
    values.update({"body": "資料を送ります。", "upload_key": "k", **fields})
    answer = client.post(f"/mail/{account.id}/compose/", values)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    row = OutgoingMessage.objects.get(account=account)
    door.send_message(account.id, row.id)  # idempotent; the page asked already
    return _settled(row.id)


def _files(raw: bytes) -> list[tuple[Any, Any]]:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    return [
        (p.get_filename(), p.get_payload(decode=True))
        for p in parsed.iter_attachments()
    ]


def test_a_file_uploaded_in_chunks_arrives_byte_for_byte_and_in_sent(
    worker, imap_user, other_device, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    synced_inbox(account)
    client = _client(account)
    data = os.urandom(2 * CHUNK + 4321)
    upload_id = _upload(client, account, JAPANESE_NAME, data)
    stored = Upload.objects.get(id=upload_id)

    row = _post(client, account, upload=[str(upload_id)])

    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    assert _files(received.data) == [(JAPANESE_NAME, data)]
    assert parse_message(received.data).text == "資料を送ります。\n"
    # The name as RFC 2231 (a long one in pieces) and as the RFC 2047 name=
    # that older Japanese programs read.
    assert b"filename*0*=utf-8''" in received.data
    assert b'name="=?utf-8?b?' in received.data
    # Another device finds the same message, file and all, in Sent.
    phone = other_device(imap_user)
    copies = wait_for(lambda: _sent_copies(phone, row.message_id), what="Sent copy")
    assert copies == [received.data]
    # Sent: the upload and its file are gone.
    assert not Upload.objects.filter(id=upload_id).exists()
    assert stored.stored_name not in os.listdir(os.environ["COMPOSE_UPLOAD_DIR"])


def _original_with_files() -> tuple[bytes, bytes, bytes]:
    pdf, png = os.urandom(300_000) + b"%%EOF", os.urandom(5000)
    message = EmailMessage()
    message["From"] = "Dana <dana@example.net>"
    message["To"] = "reader@example.org"
    message["Subject"] = "見積もりと地図"
    message.set_content("見積もりと地図を添付します。\n")
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename="見積書.pdf"
    )
    message.add_attachment(png, maintype="image", subtype="png", filename="map.png")
    return message.as_bytes(), pdf, png


def test_a_forward_keeps_the_originals_files_fetched_by_the_worker(
    worker, imap_user, other_device, submission_outbox
):
    raw, pdf, png = _original_with_files()
    other_device(imap_user).append("INBOX", raw)
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    client = _client(account)

    form = client.get(f"/mail/{account.id}/compose/?forward={inbox.id}:{uid}")
    page = form.content.decode()
    assert "見積書.pdf" in page
    assert "map.png" in page
    kept = [p for p in ("2", "3") if f'name="forward_part" value="{p}" checked' in page]
    assert kept == ["2", "3"]

    row = _post(
        client,
        account,
        subject="Fwd: 見積もりと地図",
        original=f"{inbox.id}:{uid}:$Forwarded",
        forward_part=kept,
    )

    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    assert _files(received.data) == [("見積書.pdf", pdf), ("map.png", png)]
    assert Message.objects.get(folder=inbox, uid=uid).forwarded


def test_a_forward_as_attachment_carries_the_whole_original(
    worker, imap_user, other_device, submission_outbox
):
    raw, pdf, _ = _original_with_files()
    other_device(imap_user).append("INBOX", raw)
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    client = _client(account)

    form = client.get(f"/mail/{account.id}/compose/?forward_attached={inbox.id}:{uid}")
    page = form.content.decode()
    assert 'name="forward_part" value="message" checked' in page

    row = _post(
        client,
        account,
        subject="Fwd: 見積もりと地図",
        original=f"{inbox.id}:{uid}:$Forwarded",
        forward_part=["message"],
    )

    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    sent = email.message_from_bytes(received.data, policy=policy.default)
    [attached] = [
        p for p in sent.iter_attachments() if p.get_content_type() == "message/rfc822"
    ]
    original = attached.get_content()
    # The original itself, its own files included, byte for byte.
    assert str(original["Subject"]) == "見積もりと地図"
    assert _files(original.as_bytes())[0] == ("見積書.pdf", pdf)
    assert attached.get_filename().endswith(".eml")
    assert Message.objects.get(folder=inbox, uid=uid).forwarded


def test_a_forwarded_file_gone_from_the_server_fails_the_send_saying_so(
    worker, imap_user, other_device, submission_outbox
):
    raw, _, _ = _original_with_files()
    other_device(imap_user).append("INBOX", raw)
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    outgoing = Outgoing(
        sender=Recipient("", imap_user.address),
        to=(Recipient("", "bob@example.org"),),
        subject="Fwd",
        text="x",
    )
    original = compose.Original(inbox.id, uid, "$Forwarded")

    row = compose.send_message(account, outgoing, original, forward_parts=["7"])

    row = _settled(row.id)
    assert (row.state, row.error_kind) == (SendState.FAILED, "attachment")
    assert compose.send_status(row).reason == (
        "A file of the forwarded message is no longer on the server."
    )
    assert submission_outbox.messages == []


def test_the_worker_learns_the_servers_size_and_uploads_are_held_to_it(
    worker, imap_user, submission_outbox, settings
):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 25
    account = _smtp_account(imap_user, submission_outbox)
    client = _client(account)
    assert _post(client, account).state == SendState.SENT

    learned = AccountState.objects.get(account=account).smtp_max_size
    # aiosmtpd's EHLO says SIZE 33554432 (32 MiB): base64 leaves room for
    # files of about 24 MiB, less than the 25 MB the setting allows.
    assert learned == 33554432
    answer = client.post(
        f"/mail/{account.id}/compose/uploads/",
        {"key": "k2", "name": "video.mp4", "type": "", "size": str(25_500_000)},
    )
    assert answer.status_code == 413
    assert answer.json()["error"].startswith(
        "“video.mp4” is too large: your mail server takes messages whose"
    )


def test_lines_starting_with_a_dot_survive_smtp(worker, imap_user, submission_outbox):
    account = _smtp_account(imap_user, submission_outbox)
    client = _client(account)
    data = b"line one\r\n.line with a dot\r\n" * 1000
    upload_id = _upload(client, account, "notes.txt", data)
    text = "A list:\n.\n.hidden\n..two dots\n"

    row = _post(client, account, body=text, upload=[str(upload_id)])

    assert row.state == SendState.SENT, (row.error_kind, row.error_detail)
    [received] = submission_outbox.messages
    assert _files(received.data) == [("notes.txt", data)]
    assert parse_message(received.data).text.rstrip() == text.rstrip()


@pytest.fixture
def small_server(mail_certs) -> Iterator[SmtpServer]:
    """A submission server whose EHLO says SIZE 100000."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(mail_certs.server_cert, mail_certs.server_key)
    server = start_smtp_server(tls_context=context, login=SUBMISSION_LOGIN)
    # Each connection's SMTP session is made with these arguments.
    server._controller.SMTP_kwargs["data_size_limit"] = 100_000
    yield server
    server.stop()


def test_a_message_over_the_servers_size_fails_saying_so_and_teaches_the_limit(
    worker, imap_user, small_server
):
    account = _smtp_account(imap_user, small_server)
    client = _client(account)
    upload_id = _upload(client, account, "scan.pdf", os.urandom(150_000))

    row = _post(client, account, upload=[str(upload_id)])

    assert (row.state, row.error_kind) == (SendState.FAILED, "size")
    assert compose.send_status(row).reason == (
        "The message is too large for the mail server."
    )
    assert small_server.messages == []
    # The next file that cannot fit is refused before it goes up.
    assert AccountState.objects.get(account=account).smtp_max_size == 100_000
    answer = client.post(
        f"/mail/{account.id}/compose/uploads/",
        {"key": "k3", "name": "scan2.pdf", "type": "", "size": "60000"},
    )
    assert answer.status_code == 413
    assert "your mail server" in answer.json()["error"]
