"""Drafts on the server: the real worker stores them in Dovecot's Drafts, one copy each.

What is in Drafts is checked from a second IMAP connection (the phone).
"""

from __future__ import annotations

import email
import secrets
import uuid
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

from devtools.dovecot import start_dovecot
from devtools.tls import CertPaths
from tests.engine.conftest import account_for, synced_inbox, wait_for
from tests.fixtures.servers import SUBMISSION_LOGIN, ImapUser
from webmail.engine import drafts as worker_drafts
from webmail.engine import tasks
from webmail.mail import compose, drafts
from webmail.mime.compose import Outgoing, Recipient
from webmail.models import Draft, Folder

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = {
    "to": "花子 <hanako@example.jp>, typo-without-at",
    "cc": "",
    "bcc": "hidden@example.org",
    "subject": "会議の件",
    "body": "明日の会議は十時からです。\n",
    "in_reply_to": "<one@example.net>",
    "references": "<zero@example.net> <one@example.net>",
}


def _on_server(phone, folder: str = "Drafts") -> list[email.message.EmailMessage]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    fetched = phone.fetch(uids, ["RFC822", "FLAGS"]) if uids else {}
    found = []
    for data in fetched.values():
        message = email.message_from_bytes(data[b"RFC822"], policy=policy.default)
        message["X-Test-Flags"] = " ".join(f.decode() for f in data[b"FLAGS"])
        found.append(message)
    return found


def _stored(row_id: int) -> Draft:
    def check():
        row = Draft.objects.get(id=row_id)
        done = row.saved_version >= row.version or row.error_kind
        return row if done else None

    return wait_for(check, what="the draft to be stored")


def _text(message) -> str:
    return message.get_body().get_content().replace("\r\n", "\n")


def _copies_with(phone, text: str, folder: str = "Drafts") -> list:
    return [m for m in _on_server(phone, folder) if text in _text(m)]


def test_an_autosaved_draft_is_in_drafts(worker, imap_user, other_device):
    account = account_for(imap_user)
    identity = account.identities.create(name="Sales desk", email="sales@example.org")
    phone = other_device(imap_user)

    saved = drafts.save(account, None, {**FIELDS, "identity": str(identity.id)}, None)

    row = _stored(saved.draft_id)
    assert row.error_kind == "" and row.uid is not None
    [copy] = wait_for(lambda: _on_server(phone), what="a copy in Drafts")
    assert copy["Subject"] == "会議の件"
    assert _text(copy) == "明日の会議は十時からです。\n"
    assert [a.addr_spec for a in copy["To"].addresses] == ["hanako@example.jp"]
    assert copy["Bcc"] == "hidden@example.org"
    assert copy["From"] == "Sales desk <sales@example.org>"
    assert copy["In-Reply-To"] == "<one@example.net>"
    assert "\\Draft" in copy["X-Test-Flags"]
    assert row.folder is not None and row.folder.special_use == "\\Drafts"


def test_a_draft_written_in_html_is_stored_and_opens_in_html(
    worker, imap_user, other_device
):
    account = account_for(imap_user)
    phone = other_device(imap_user)
    markup = "<div>明日は<b>十時</b>から</div><ul><li>議題</li></ul>"
    fields = {**FIELDS, "format": "html", "html": markup, "body": "明日は十時から\n"}

    saved = drafts.save(account, None, fields, None)

    _stored(saved.draft_id)
    [copy] = wait_for(lambda: _on_server(phone), what="a copy in Drafts")
    html = copy.get_body(preferencelist=("html",)).get_content()
    assert "<b>十時</b>" in html
    assert "明日は十時から" in copy.get_body(preferencelist=("plain",)).get_content()
    # Another device opens it in the editor, with its formatting.
    opened = drafts.start_from_row(account, saved.draft_id)
    assert opened.format == "html"
    assert "<b>十時</b>" in opened.start.html


def test_three_saves_leave_one_copy_of_the_latest(worker, imap_user, other_device):
    account = account_for(imap_user)
    phone = other_device(imap_user)
    saved = drafts.save(account, None, {**FIELDS, "body": "one\n"}, None)
    version = saved.version
    for text in ("two\n", "three\n"):
        version = drafts.save(account, saved.draft_id, {"body": text}, version).version

    assert _stored(saved.draft_id).saved_version == 3

    def only_the_latest():
        found = _on_server(phone)
        return found if len(found) == 1 else None

    [copy] = wait_for(only_the_latest, what="one copy in Drafts")
    assert _text(copy) == "three\n"


def test_a_draft_another_program_wrote_opens_and_is_replaced(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    phone.append(
        "Drafts",
        b"From: me@example.org\r\nTo: Carol <carol@example.org>\r\n"
        b"Subject: Half written\r\nIn-Reply-To: <x@example.org>\r\n\r\nDear Carol,\r\n",
        flags=[b"\\Draft"],
    )
    account = account_for(imap_user)
    synced_inbox(account)
    folder = Folder.objects.get(account=account, special_use="\\Drafts")
    tasks.sync(account.id, folder.id)

    opened = drafts.start_from_message(account, folder.id, 1)

    assert opened.start.to == "Carol <carol@example.org>"
    assert opened.start.subject == "Half written"
    assert opened.start.text.startswith("Dear Carol,")
    assert opened.start.in_reply_to == "<x@example.org>"
    fields = {"to": opened.start.to, "subject": "Written", "body": "Dear Carol, hi.\n"}
    drafts.save(account, opened.draft_id, fields, opened.version)
    _stored(opened.draft_id)
    [copy] = wait_for(lambda: _on_server(phone), what="the one copy")
    assert copy["Subject"] == "Written"


def test_sending_a_draft_removes_it_from_drafts(
    worker, imap_user, other_device, submission_outbox
):
    account = account_for(
        imap_user,
        smtp_host=submission_outbox.host,
        smtp_port=submission_outbox.port,
        smtp_security="starttls",
        smtp_username=SUBMISSION_LOGIN[0],
    )
    account.smtp_password = SUBMISSION_LOGIN[1]
    account.save()
    phone = other_device(imap_user)
    saved = drafts.save(account, None, FIELDS, None)
    _stored(saved.draft_id)
    wait_for(lambda: _on_server(phone), what="the draft in Drafts")

    outgoing = Outgoing(
        sender=Recipient("", account.email),
        to=(Recipient("", "hanako@example.jp"),),
        subject="会議の件",
        text="明日の会議は十時からです。\n",
    )
    compose.send_message(account, outgoing, draft_id=saved.draft_id)

    wait_for(lambda: not _on_server(phone), what="Drafts to be empty")
    wait_for(lambda: not Draft.objects.filter(id=saved.draft_id).exists())
    wait_for(lambda: submission_outbox.messages, what="the message sent")


def test_a_missing_drafts_folder_is_made(worker, imap_user_prefixed, other_device):
    account = account_for(imap_user_prefixed)
    phone = other_device(imap_user_prefixed)
    names = [name for _, _, name in phone.list_folders()]
    assert "INBOX.Drafts" not in names

    saved = drafts.save(account, None, FIELDS, None)

    assert _stored(saved.draft_id).error_kind == ""
    assert len(_on_server(phone, "INBOX.Drafts")) == 1


def test_a_full_mailbox_is_said_and_the_text_kept(worker, make_imap_user, other_device):
    imap_user = make_imap_user(quota_mb=1)
    account = account_for(imap_user)
    big = {**FIELDS, "body": "x" * 1_500_000}

    saved = drafts.save(account, None, big, None)

    row = _stored(saved.draft_id)
    assert row.error_kind == "quota"
    state = drafts.state_of(row)
    assert "mailbox is full" in state["error"]
    assert not state["saved"]
    assert row.fields["body"] == big["body"]  # kept, to be saved again
    assert _on_server(other_device(imap_user)) == []


def test_a_save_a_killed_worker_lost_is_stored_by_the_sweep(
    imap_user, other_device, worker
):
    account = account_for(imap_user)
    # The page recorded the save; its task never ran (the worker died).
    row = Draft.objects.create(account=account, token="lost-task", fields=FIELDS)
    Draft.objects.filter(id=row.id).update(
        updated_at=row.updated_at - 2 * worker_drafts.STALE
    )
    assert worker_drafts.due() == [(account.id, row.id)]

    assert tasks.sweep_outbox() >= 1

    assert _stored(row.id).saved_version == 1
    phone = other_device(imap_user)
    assert len(wait_for(lambda: _copies_with(phone, "十時"), what="the copy")) == 1


def test_a_copy_left_by_a_killed_worker_is_removed_by_the_next_save(
    worker, imap_user, other_device
):
    account = account_for(imap_user)
    phone = other_device(imap_user)
    saved = drafts.save(account, None, FIELDS, None)
    row = _stored(saved.draft_id)
    # A worker APPENDed a version and died before recording it.
    phone.append("Drafts", worker_drafts.build_draft(row), flags=[b"\\Draft"])
    phone.append("Drafts", b"Subject: someone else's draft\r\n\r\nKeep me.\r\n")
    assert len(_on_server(phone)) == 3

    drafts.save(account, row.id, {**FIELDS, "body": "Final.\n"}, row.version)
    _stored(row.id)

    def settled():
        bodies = sorted(_text(m).strip() for m in _on_server(phone))
        return bodies if len(bodies) == 2 else None

    assert wait_for(settled, what="one copy left") == ["Final.", "Keep me."]


def test_a_draft_whose_sending_failed_stays_to_be_edited(
    worker, imap_user, other_device
):
    account = account_for(imap_user)  # no outgoing server: sending fails
    phone = other_device(imap_user)
    saved = drafts.save(account, None, FIELDS, None)
    _stored(saved.draft_id)
    outgoing = Outgoing(
        sender=Recipient("", account.email), to=(Recipient("", "a@example.org"),)
    )

    row = compose.send_message(account, outgoing, draft_id=saved.draft_id)

    wait_for(
        lambda: not Draft.objects.filter(id=saved.draft_id, sent_with=row).exists(),
        what="the failed send to give the draft back",
    )
    opened = drafts.start_from_row(account, saved.draft_id)
    assert opened.start.subject == "会議の件"
    assert len(_on_server(phone)) == 1


def test_a_draft_another_program_replaced_is_said_and_both_kept(
    worker, imap_user, other_device
):
    account = account_for(imap_user)
    phone = other_device(imap_user)
    saved = drafts.save(account, None, {**FIELDS, "body": "Mine.\n"}, None)
    row = _stored(saved.draft_id)
    # The phone's mail program edits the draft: a new copy (our header
    # kept), the old one deleted.
    phone.select_folder("Drafts")
    ours = phone.fetch([row.uid], ["RFC822"])[row.uid][b"RFC822"]
    phone.append("Drafts", ours.replace(b"Mine.", b"Theirs."), flags=[b"\\Draft"])
    phone.delete_messages([row.uid])
    phone.expunge()

    drafts.save(account, row.id, {**FIELDS, "body": "Mine, later.\n"}, row.version)

    row = _stored(row.id)
    state = drafts.state_of(row)
    assert state["saved"] and "Another program changed" in state["error"]

    def bodies():
        return sorted(_text(m).strip() for m in _on_server(phone))

    assert wait_for(lambda: len(bodies()) == 2 and bodies()) == [
        "Mine, later.",
        "Theirs.",
    ]
    # Later saves replace only the webmail's own copy.
    drafts.save(account, row.id, {**FIELDS, "body": "Mine, last.\n"}, row.version)
    assert _stored(row.id).error_kind == ""
    assert wait_for(lambda: "Mine, last." in bodies() and bodies()) == [
        "Mine, last.",
        "Theirs.",
    ]


@pytest.fixture
def imap_user_without_uidplus(
    dovecot_workdir: Path, mail_certs: CertPaths
) -> Iterator[ImapUser]:
    """A mailbox on a Dovecot of the test's own that offers no UIDPLUS."""
    server = start_dovecot(
        dovecot_workdir, variant="no-uidplus", tls_dir=mail_certs.ca_cert.parent
    )
    user = ImapUser(
        username=f"user-{uuid.uuid4().hex[:12]}@example.org",
        password=secrets.token_urlsafe(12),
        server=server,
    )
    server.add_user(user.username, user.password)
    try:
        yield user
    finally:
        server.stop()


def test_without_uidplus_old_copies_go_but_never_another_clients_deleted_mail(
    worker, imap_user_without_uidplus, other_device
):
    imap_user = imap_user_without_uidplus
    account = account_for(imap_user)
    phone = other_device(imap_user)
    assert b"UIDPLUS" not in phone.capabilities()
    saved = drafts.save(account, None, {**FIELDS, "body": "one\n"}, None)
    version = saved.version
    for text in ("two\n", "three\n"):
        version = drafts.save(account, saved.draft_id, {"body": text}, version).version
    assert _stored(saved.draft_id).saved_version == 3

    def bodies() -> list[str]:
        return sorted(_text(m).strip() for m in _on_server(phone))

    assert wait_for(lambda: bodies() == ["three"], what="one copy")
    # Another client marks a message of its own \\Deleted, to expunge later.
    phone.append("Drafts", b"Subject: theirs\r\n\r\nTheirs.\r\n")
    phone.select_folder("Drafts")
    [theirs] = phone.search(["SUBJECT", "theirs"])
    phone.add_flags([theirs], [b"\\Deleted"])

    drafts.save(account, saved.draft_id, {"body": "four\n"}, version)
    row = _stored(saved.draft_id)

    phone.select_folder("Drafts", readonly=True)
    flags = {
        uid: d[b"FLAGS"]
        for uid, d in phone.fetch(phone.search(["ALL"]), ["FLAGS"]).items()
    }
    assert b"\\Deleted" in flags[theirs]  # still there, for its client to expunge
    assert b"\\Deleted" not in flags[row.uid]
    assert sorted(u for u, f in flags.items() if b"\\Deleted" not in f) == [row.uid]
