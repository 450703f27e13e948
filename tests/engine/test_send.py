"""Sending: the real worker submits to a real SMTP server and files a copy in Sent."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.test import Client
from django.utils import timezone

from devtools.smtp_server import SmtpServer
from tests.engine.conftest import account_for, fill, synced_inbox, wait_for
from tests.fixtures.servers import SUBMISSION_LOGIN
from webmail import door
from webmail.engine import compose as worker_compose
from webmail.engine import tasks
from webmail.mail import compose
from webmail.mime.compose import FileToSend, Outgoing, Recipient, build_message
from webmail.mime.parse import parse_message
from webmail.models import Message, OutgoingMessage, SendState

pytestmark = pytest.mark.django_db(transaction=True)


def _smtp_account(imap_user, server: SmtpServer, **overrides):
    login, password = overrides.pop("smtp_login", SUBMISSION_LOGIN)
    account = account_for(
        imap_user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="starttls",
        smtp_username=login,
        **overrides,
    )
    account.smtp_password = password
    account.save()
    return account


def _outgoing(**fields) -> Outgoing:
    values = {
        "sender": Recipient("", "ignored@example.org"),
        "to": (Recipient("花子", "hanako@example.jp"),),
        "subject": "会議の件",
        "text": "明日の会議は十時からです。\n",
    }
    return Outgoing(**{**values, **fields})


def _settled(row_id: int) -> OutgoingMessage:
    def check():
        row = OutgoingMessage.objects.get(id=row_id)
        return row if row.state in (SendState.SENT, SendState.FAILED) else None

    return wait_for(check, what="the send to settle")


def _sent_copies(phone, message_id: str) -> list[bytes]:
    phone.select_folder("Sent", readonly=True)
    uids = phone.search(["HEADER", "Message-ID", message_id])
    return (
        [d[b"RFC822"] for d in phone.fetch(uids, ["RFC822"]).values()] if uids else []
    )


def test_a_message_reaches_the_smtp_server_and_sent(
    worker, imap_user, other_device, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    synced_inbox(account)
    files = (FileToSend("議事録.pdf", b"%PDF-1.4 \x00\xff" * 100),)
    outgoing = _outgoing(
        cc=(Recipient("", "bob@example.org"),),
        bcc=(Recipient("", "hidden@example.org"),),
        files=files,
    )

    row = compose.send_message(account, outgoing)

    assert _settled(row.id).state == SendState.SENT
    [received] = submission_outbox.messages
    assert received.mail_from == imap_user.address
    assert sorted(received.rcpt_tos) == [
        "bob@example.org",
        "hanako@example.jp",
        "hidden@example.org",
    ]
    parsed = parse_message(received.data)
    assert parsed.subject == "会議の件"
    assert parsed.text == "明日の会議は十時からです。\n"
    assert [a.address for a in parsed.from_] == [imap_user.address]
    assert [(a.name, a.address) for a in parsed.to] == [("花子", "hanako@example.jp")]
    assert b"hidden@" not in received.data
    assert parsed.message_id == row.message_id
    attachment = email.message_from_bytes(received.data, policy=policy.default)
    [part] = attachment.iter_attachments()
    assert (part.get_filename(), part.get_content()) == ("議事録.pdf", files[0].data)

    # The copy in Sent, seen from another device, is the same message.
    phone = other_device(imap_user)
    copies = wait_for(lambda: _sent_copies(phone, row.message_id), what="Sent copy")
    assert copies == [received.data]
    # Recorded just after the APPEND the phone already sees.
    wait_for(
        lambda: (
            OutgoingMessage.objects.get(id=row.id).sent_copy == worker_compose.SAVED
        ),
        5,
    )


def test_a_reply_flags_its_original_answered(
    worker, imap_user, other_device, submission_outbox
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 1)
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    original = compose.Original(inbox.id, 1, "\\Answered")

    row = compose.send_message(account, _outgoing(), original)

    assert _settled(row.id).state == SendState.SENT
    # Flagged just after it is marked sent.
    wait_for(lambda: Message.objects.get(folder=inbox, uid=1).answered, 5)

    def answered_on_server():
        phone.select_folder("INBOX", readonly=True)
        return b"\\Answered" in phone.fetch([1], ["FLAGS"])[1][b"FLAGS"]

    wait_for(answered_on_server, what="\\Answered on the server")


def test_a_sent_reply_is_in_its_conversation_when_the_page_hears_it_went(
    worker, imap_user, other_device, submission_outbox, subscribe
):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 1, prefix="Budget")
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    first = Message.objects.get(folder=inbox, uid=1)
    client = Client()
    client.force_login(account.user)
    thread_url = f"/mail/{account.id}/{inbox.id}/1/thread"
    assert "Re: Budget 0" not in client.get(thread_url).content.decode()
    events = subscribe(account.user_id)
    reply = _outgoing(
        subject="Re: Budget 0",
        in_reply_to=first.message_id,
        references=(first.message_id,),
    )

    row = compose.send_message(
        account, reply, compose.Original(inbox.id, 1, "\\Answered")
    )

    events.wait(lambda e: e.get("type") == "sent" and e.get("id") == row.id)
    # No wait for a sync: when the page hears "Sent", the copy in Sent is
    # in the cache, and the conversation shows it.
    cached = Message.objects.filter(folder__account=account, folder__name="Sent")
    assert list(cached.values_list("message_id", flat=True)) == [row.message_id]
    thread = client.get(thread_url).content.decode()
    assert "2 messages" in thread
    assert "Re: Budget 0" in thread


def test_a_refused_recipient_keeps_the_message_and_sends_nobody(
    worker, imap_user, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    to = (Recipient("", "ok@example.org"), Recipient("", "refused-x@example.org"))

    row = _settled(compose.send_message(account, _outgoing(to=to)).id)

    assert row.state == SendState.FAILED
    assert row.error_kind == "recipient"
    assert row.refused_recipient == "refused-x@example.org"
    assert row.error_detail.startswith("550")
    assert bytes(row.raw)  # the message is kept, to be sent again
    assert submission_outbox.messages == []


def test_a_refused_password_keeps_the_message(worker, imap_user, submission_outbox):
    account = _smtp_account(
        imap_user, submission_outbox, smtp_login=("sender@example.org", "wrong")
    )

    row = _settled(compose.send_message(account, _outgoing()).id)

    assert (row.state, row.error_kind) == (SendState.FAILED, "login")
    assert row.error_detail.startswith("535")
    assert submission_outbox.messages == []


def test_a_server_that_is_down_is_tried_again_later(
    worker, imap_user, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    submission_outbox.stop()
    try:
        row = compose.send_message(account, _outgoing())

        def tried():
            found = OutgoingMessage.objects.get(id=row.id)
            return found if found.attempts else None

        row = wait_for(tried, what="a first attempt")
    finally:
        submission_outbox.start()

    assert (row.state, row.error_kind, row.attempts) == ("pending", "unreachable", 1)
    assert "refused" in row.error_detail.lower()
    assert row.next_attempt_at > row.updated_at
    assert worker_compose.due() == []  # not yet

    OutgoingMessage.objects.filter(id=row.id).update(next_attempt_at=row.created_at)
    assert tasks.sweep_outbox() >= 1

    assert _settled(row.id).state == SendState.SENT
    assert len(submission_outbox.messages) == 1


def test_a_message_is_sent_once_however_often_it_is_asked_for(
    worker, imap_user, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    row = compose.send_message(account, _outgoing())
    for _ in range(3):  # a redelivered task, a sweep, a second worker
        tasks.send_message(account.id, row.id)
        door.send_message(account.id, row.id)

    assert _settled(row.id).state == SendState.SENT
    assert len(submission_outbox.messages) == 1
    assert worker_compose.due() == []


def test_a_send_a_dead_worker_left_is_failed_not_repeated(imap_user, submission_outbox):
    account = _smtp_account(imap_user, submission_outbox)
    outgoing = _outgoing(sender=Recipient("", imap_user.address))
    row = OutgoingMessage.objects.create(
        account=account,
        raw=build_message(outgoing),
        envelope_from=imap_user.address,
        recipients=["hanako@example.jp"],
        state=SendState.SENDING,
        claimed_at=timezone.now() - worker_compose.SENDING_STALE,
    )

    assert worker_compose.due() == []
    tasks.send_message(account.id, row.id)

    row.refresh_from_db()
    assert (row.state, row.error_kind) == (SendState.FAILED, "interrupted")
    assert submission_outbox.messages == []
