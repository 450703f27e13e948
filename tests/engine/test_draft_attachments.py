"""A draft keeps its files: in its copy in Drafts, when opened on another device,
and when sent from there. The real worker, Dovecot and the aiosmtpd server;
Drafts is checked from a second IMAP connection (the phone)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from tests.engine.conftest import account_for, synced_inbox, wait_for
from tests.engine.test_drafts import _on_server, _stored
from tests.engine.test_send import _settled, _smtp_account
from tests.engine.test_send_attachments import (
    JAPANESE_NAME,
    _files,
    _original_with_files,
    _upload,
)
from webmail.engine import tasks
from webmail.mail import compose
from webmail.models import Draft, Folder, Message, OutgoingMessage, SendState, Upload
from webmail.shared.uploads import remove

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 1024 * 1024
FIELDS = {"to": "hanako@example.jp", "subject": "資料", "body": "資料です。\n"}


def _client(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _save(client: Client, account, draft_id=None, **form) -> dict:
    url = f"/mail/{account.id}/drafts/{draft_id or ''}"
    answer = client.post(url, {**FIELDS, **form})
    assert answer.status_code == 200, answer.content
    return answer.json()


def _attachments(phone) -> list[list[tuple[Any, Any]]]:
    return [
        [(p.get_filename(), p.get_payload(decode=True)) for p in m.iter_attachments()]
        for m in _on_server(phone)
    ]


def _one_copy_with(phone, files):
    def check():
        found = _attachments(phone)
        return found if found == [files] else None

    return wait_for(check, what=f"one copy in Drafts with {files}")


def test_a_drafts_copy_carries_its_files_and_loses_a_removed_one(
    worker, imap_user, other_device
):
    account = account_for(imap_user)
    phone = other_device(imap_user)
    client = _client(account)
    pdf, notes = os.urandom(CHUNK + 777), b"line one\r\n.dot line\r\n" * 50
    pdf_id = _upload(client, account, JAPANESE_NAME, pdf)
    notes_id = _upload(client, account, "notes.txt", notes)

    saved = _save(client, account, files=f"u{pdf_id} u{notes_id}")

    _stored(saved["id"])
    _one_copy_with(phone, [(JAPANESE_NAME, pdf), ("notes.txt", notes)])
    # The upload files are cleaned away (they are hours old): the next
    # version takes the files from the copy it replaces.
    remove(list(Upload.objects.filter(account=account)))
    saved = _save(
        client,
        account,
        saved["id"],
        body="資料です。追記。\n",
        files=f"u{pdf_id} u{notes_id}",
        version=str(saved["version"]),
    )
    _stored(saved["id"])
    [copy] = _on_server(phone)
    assert "追記" in copy.get_body(preferencelist=("plain",)).get_content()
    _one_copy_with(phone, [(JAPANESE_NAME, pdf), ("notes.txt", notes)])

    # The user removes the PDF in the compose page.
    saved = _save(
        client,
        account,
        saved["id"],
        files=f"u{notes_id}",
        version=str(saved["version"]),
    )

    _stored(saved["id"])
    _one_copy_with(phone, [("notes.txt", notes)])


def _another_programs_draft(phone) -> tuple[int, bytes, bytes]:
    """A draft with two files, as another mail program leaves it in Drafts."""
    raw, pdf, png = _original_with_files()
    phone.append("Drafts", raw, flags=[b"\\Draft"])
    phone.select_folder("Drafts")
    [uid] = phone.search(["ALL"])
    return uid, pdf, png


def _drafts_folder(account) -> Folder:
    synced_inbox(account)
    folder = Folder.objects.get(account=account, special_use="\\Drafts")
    tasks.sync(account.id, folder.id)
    return folder


def _send_from_form(client: Client, account, page: str, **fields) -> OutgoingMessage:
    draft = Draft.objects.get(account=account)
    keys = [k for k in draft.fields["files"].split() if f'value="{k}"' in page]
    answer = client.post(
        f"/mail/{account.id}/compose/",
        {
            **FIELDS,
            "to": "carol@example.org",
            "draft": str(draft.id),
            "draft_file": keys,
            **fields,
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return _settled(OutgoingMessage.objects.get(account=account).id)


def _opened_elsewhere(imap_user, phone, server):
    """Another program's draft with two files, opened in a fresh session.

    Returns the account, the session, the compose page, the draft's UID in
    Drafts and its two files.
    """
    uid, pdf, png = _another_programs_draft(phone)
    account = _smtp_account(imap_user, server)
    folder = _drafts_folder(account)
    client = _client(account)
    page = client.get(f"/mail/{account.id}/compose/?draft={folder.id}:{uid}")
    assert page.status_code == 200
    return account, client, page, uid, (pdf, png)


def test_a_draft_from_the_server_opens_with_its_files_and_sends_them(
    worker, imap_user, other_device, submission_outbox
):
    phone = other_device(imap_user)

    account, client, page, _, (pdf, png) = _opened_elsewhere(
        imap_user, phone, submission_outbox
    )

    listed = [f.filename for f in page.context["draft_files"]]
    assert listed == ["見積書.pdf", "map.png"]
    assert 'name="draft_file"' in page.content.decode()
    row = _send_from_form(client, account, page.content.decode())

    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    assert _files(received.data) == [("見積書.pdf", pdf), ("map.png", png)]
    wait_for(lambda: not _on_server(phone), what="the draft to leave Drafts")


def test_a_stored_draft_opened_in_a_fresh_session_sends_its_files_from_the_server(
    worker, imap_user, other_device, submission_outbox
):
    account = _smtp_account(imap_user, submission_outbox)
    phone = other_device(imap_user)
    laptop = _client(account)
    data = os.urandom(2 * CHUNK + 5)
    upload_id = _upload(laptop, account, JAPANESE_NAME, data)
    saved = _save(laptop, account, files=f"u{upload_id}")
    stored = _stored(saved["id"])
    _one_copy_with(phone, [(JAPANESE_NAME, data)])
    # Only the server has the file now.
    remove(list(Upload.objects.filter(account=account)))

    tablet = _client(account)
    page = tablet.get(
        f"/mail/{account.id}/compose/?draft={stored.folder_id}:{stored.uid}"
    )

    assert [f.filename for f in page.context["draft_files"]] == [JAPANESE_NAME]
    row = _send_from_form(tablet, account, page.content.decode())
    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    assert _files(received.data) == [(JAPANESE_NAME, data)]


def test_a_drafts_file_gone_from_the_server_fails_the_send_saying_so(
    worker, imap_user, other_device, submission_outbox
):
    phone = other_device(imap_user)
    account, client, page, uid, _ = _opened_elsewhere(
        imap_user, phone, submission_outbox
    )
    # Another program deletes the draft meanwhile.
    phone.delete_messages([uid])
    phone.expunge()

    row = _send_from_form(client, account, page.content.decode())

    assert (row.state, row.error_kind) == (SendState.FAILED, "draft_file")
    assert compose.send_status(row).reason == (
        "A file of the draft is no longer on the server."
    )
    assert submission_outbox.messages == []
    # The draft is the user's to edit again.
    wait_for(
        lambda: Draft.objects.filter(account=account, sent_with=None).exists(),
        what="the failed send to give the draft back",
    )


def test_a_forwards_kept_files_go_into_its_draft_and_are_sent_from_another_device(
    worker, imap_user, other_device, submission_outbox
):
    phone = other_device(imap_user)
    raw, pdf, png = _original_with_files()
    phone.append("INBOX", raw)
    account = _smtp_account(imap_user, submission_outbox)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid
    laptop = _client(account)
    page = laptop.get(f"/mail/{account.id}/compose/?forward={inbox.id}:{uid}")
    assert 'name="forward_part" value="3" checked' in page.content.decode()
    forward = {
        "subject": "Fwd: 見積もりと地図",
        "original": f"{inbox.id}:{uid}:$Forwarded",
    }

    # What drafts.js saves while both of the original's files are ticked.
    saved = _save(laptop, account, files="f2 f3", **forward)

    _stored(saved["id"])
    _one_copy_with(phone, [("見積書.pdf", pdf), ("map.png", png)])
    # The original is deleted meanwhile: the copy in Drafts has the file.
    phone.select_folder("INBOX")
    phone.delete_messages(phone.search(["ALL"]))
    phone.expunge()

    # The user unticks map.png.
    saved = _save(
        laptop,
        account,
        saved["id"],
        files="f2",
        version=str(saved["version"]),
        **forward,
    )

    stored = _stored(saved["id"])
    _one_copy_with(phone, [("見積書.pdf", pdf)])
    tablet = _client(account)
    page = tablet.get(
        f"/mail/{account.id}/compose/?draft={stored.folder_id}:{stored.uid}"
    )
    assert [f.filename for f in page.context["draft_files"]] == ["見積書.pdf"]
    assert "map.png" not in page.content.decode()
    row = _send_from_form(tablet, account, page.content.decode(), **forward)
    assert row.state == SendState.SENT, row.error_kind
    [received] = submission_outbox.messages
    assert _files(received.data) == [("見積書.pdf", pdf)]
    wait_for(lambda: not _on_server(phone), what="the draft to leave Drafts")


def test_a_forwards_draft_is_stored_without_the_files_of_an_original_gone(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    raw, _, _ = _original_with_files()
    phone.create_folder("Projects")
    phone.append("Projects", raw)
    account = account_for(imap_user)
    synced_inbox(account)
    folder = Folder.objects.get(account=account, name="Projects")
    tasks.sync(account.id, folder.id)
    uid = Message.objects.get(folder=folder).uid
    # Another program deletes the folder before the draft is stored.
    phone.delete_folder("Projects")

    saved = _save(
        _client(account),
        account,
        files="f2",
        subject="Fwd: 見積もりと地図",
        original=f"{folder.id}:{uid}:$Forwarded",
    )

    assert _stored(saved["id"]).error_kind == ""
    _one_copy_with(phone, [])
