"""Identities and collected addresses with the real worker, Dovecot and SMTP server.

A reply to mail sent to one of the user's identities goes out as that
identity: the SMTP server receives its From, Reply-To and signature. The
people the user writes to and hears from are collected by the worker.
"""

from __future__ import annotations

import email
import uuid
from email import policy

import pytest
from django.test import Client

from accounts.models import Identity
from tests.engine.conftest import account_for, synced_inbox, wait_for
from tests.fixtures.servers import SUBMISSION_LOGIN
from webmail import door
from webmail.engine import addresses
from webmail.models import CollectedAddress, Folder, Message

pytestmark = pytest.mark.django_db(transaction=True)


def _mail(to: str, sender: str = "Dana Doe <dana@example.net>", cc: str = "") -> bytes:
    lines = [
        f"From: {sender}",
        f"To: {to}",
        *([f"Cc: {cc}"] if cc else []),
        "Subject: 来週の打ち合わせ",
        f"Message-ID: <{uuid.uuid4().hex}@example.net>",
        "Date: Sat, 28 Nov 2026 10:00:00 +0900",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "月曜日でいかがですか。",
    ]
    return "\r\n".join(lines).encode()


def _smtp_account(imap_user, server):
    login, password = SUBMISSION_LOGIN
    account = account_for(
        imap_user,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="starttls",
        smtp_username=login,
    )
    account.smtp_password = password
    account.save()
    return account


def test_a_reply_goes_out_as_the_identity_the_original_was_sent_to(
    worker, imap_user, other_device, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    Identity.objects.create(
        account=account,
        name="Alice at work",
        email=imap_user.address,
        signature="Alice, Work Inc.",
        is_default=True,
    )
    home = Identity.objects.create(
        account=account,
        name="アリス",
        email="alice.home@example.org",
        reply_to="family@example.org",
        signature="アリス・自宅",
    )
    phone = other_device(imap_user)
    phone.append("INBOX", _mail("Alice <Alice.Home@example.org>"))
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    client = Client()
    client.force_login(account.user)

    form = client.get(f"/mail/{account.id}/compose/", {"reply": f"{inbox.id}:{uid}"})

    context = form.context
    assert context["identity_id"] == home.id
    assert "-- \nアリス・自宅" in context["body"]
    assert context["body"].index("アリス・自宅") < context["body"].index("> 月曜日")
    sent = client.post(
        f"/mail/{account.id}/compose/",
        {
            "to": context["to"],
            "cc": "Erin <erin@example.net>",
            "bcc": "",
            "subject": context["subject"],
            "body": "はい、大丈夫です。" + context["body"],
            "identity": str(home.id),
            "original": context["original"],
            "in_reply_to": context["in_reply_to"],
            "references": context["references"],
        },
    )
    assert sent.status_code == 302

    received = wait_for(lambda: submission_outbox.messages, what="the message")
    message = email.message_from_bytes(received[0].data, policy=policy.default)
    assert message["From"] == "アリス <alice.home@example.org>"
    assert message["Reply-To"] == "family@example.org"
    assert message["To"] == "Dana Doe <dana@example.net>"
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("はい、大丈夫です。\n\n-- \nアリス・自宅\n")
    assert received[0].mail_from == imap_user.address

    # Those written to are collected (not the user's own identities).
    def collected():
        rows = CollectedAddress.objects.filter(user=account.user)
        keys = {row.key: row.name for row in rows}
        return keys if "erin@example.net" in keys else None

    found = wait_for(collected, what="the recipients collected")
    assert found["erin@example.net"] == "Erin"
    assert found["dana@example.net"] == "Dana Doe"
    assert "alice.home@example.org" not in found

    # The copy in Sent, once cached, does not count the recipients again.
    sent_folder = Folder.objects.get(account=account, special_use__iexact="\\Sent")
    door.sync_folder(account.id, sent_folder.id)
    wait_for(
        lambda: Message.objects.filter(folder=sent_folder).exists(),
        what="the Sent copy in the cache",
    )
    while addresses.collect_from_cache(account.id):
        pass
    counts = dict(
        CollectedAddress.objects.filter(user=account.user).values_list("key", "count")
    )
    assert counts["erin@example.net"] == 1
    assert counts["dana@example.net"] == 2  # the mail from Dana, the reply to Dana


def test_the_worker_collects_addresses_from_synced_mail(
    worker, imap_user, other_device
):
    account = account_for(imap_user)
    inbox = synced_inbox(account)  # empty yet
    phone = other_device(imap_user)
    phone.append("INBOX", _mail(imap_user.address, cc="山田 花子 <hanako@example.jp>"))
    phone.append("INBOX", _mail(imap_user.address))

    door.sync_folder(account.id, inbox.id)

    def collected():
        rows = CollectedAddress.objects.filter(user=account.user)
        found = {row.key: (row.name, row.count) for row in rows}
        return found if "hanako@example.jp" in found else None

    found = wait_for(collected, what="addresses collected from the sync")
    assert found == {
        "dana@example.net": ("Dana Doe", 2),
        "hanako@example.jp": ("山田 花子", 1),
    }
