"""Autosave and drafts on the compose page, in Django's client (no worker)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.ui.mail import account_of, add_message, cache_body, standard_mailbox
from webmail.models import Draft, OutgoingMessage

pytestmark = pytest.mark.django_db

TYPED = {
    "to": "bob@example.org, half-typ",
    "bcc": "boss@example.org",
    "subject": "予定",
    "body": "十時から。",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _save(client: Client, account, draft_id=None, **form):
    url = f"/mail/{account.id}/drafts/"
    if draft_id is not None:
        url += str(draft_id)
    return client.post(url, form)


def test_a_first_save_makes_a_draft_and_later_ones_raise_its_version(alice):
    account = account_of(alice)
    client = _client(alice)

    first = _save(client, account, **TYPED)

    assert first.status_code == 200
    answer = first.json()
    row = Draft.objects.get(account=account)
    assert answer == {
        "id": row.id,
        "version": 1,
        "url": f"/mail/{account.id}/drafts/{row.id}",
    }
    assert row.fields["to"] == "bob@example.org, half-typ"  # kept as typed
    later = {**TYPED, "body": "十一時から。"}
    second = _save(client, account, row.id, **later, version="1")
    assert second.json()["version"] == 2
    row.refresh_from_db()
    assert (row.version, row.fields["body"]) == (2, "十一時から。")
    state = client.get(answer["url"]).json()
    assert state == {"id": row.id, "version": 2, "saved": False, "gone": False}


def test_a_save_from_a_tab_that_missed_a_later_version_is_refused(alice):
    account = account_of(alice)
    tab_one, tab_two = _client(alice), _client(alice)
    draft_id = _save(tab_one, account, **TYPED).json()["id"]
    assert _save(tab_one, account, draft_id, body="one", version="1").status_code == 200

    late = _save(tab_two, account, draft_id, body="two", version="1")

    assert late.status_code == 409
    assert late.json()["conflict"] is True
    assert "changed in another window" in late.json()["error"]
    assert Draft.objects.get(id=draft_id).fields["body"] == "one"

    kept = _save(tab_two, account, draft_id, body="two", version="1", force="1")

    assert (kept.status_code, kept.json()["version"]) == (200, 3)
    assert Draft.objects.get(id=draft_id).fields["body"] == "two"


def test_a_signed_out_save_is_told_so_not_redirected(alice):
    account = account_of(alice)
    client = _client(alice)
    draft_id = _save(client, account, **TYPED).json()["id"]
    client.logout()

    answer = _save(client, account, draft_id, body="still typing", version="1")

    assert answer.status_code == 401
    assert answer.json()["signed_out"] is True
    assert Draft.objects.get(id=draft_id).fields["body"] == "十時から。"


def test_a_saved_draft_opens_for_editing_with_everything(alice):
    account = account_of(alice)
    client = _client(alice)
    fields = {
        **TYPED,
        "cc": "carol@example.org",
        "in_reply_to": "<one@example.net>",
        "references": "<zero@example.net> <one@example.net>",
    }
    draft_id = _save(client, account, **fields).json()["id"]

    page = _client(alice).get(f"/mail/{account.id}/compose/?edit={draft_id}")

    assert page.status_code == 200
    context = page.context
    assert (context["to"], context["cc"], context["bcc"]) == (
        "bob@example.org, half-typ",
        "carol@example.org",
        "boss@example.org",
    )
    assert (context["subject"], context["body"]) == ("予定", "十時から。")
    assert context["in_reply_to"] == "<one@example.net>"
    assert context["references"] == "<zero@example.net> <one@example.net>"
    html = page.content.decode()
    assert f'data-draft-url="/mail/{account.id}/drafts/{draft_id}"' in html
    assert f'name="draft" value="{draft_id}"' in html
    assert 'name="draft_version" value="1"' in html


def test_a_message_in_drafts_offers_edit(alice):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    drafts_folder = folders["Drafts"]
    add_message(drafts_folder, 5, "Half written", draft=True, in_reply_to="<a@b.c>")
    cache_body(
        drafts_folder,
        5,
        b"From: alice@example.org\r\nSubject: Half written\r\n\r\nDear Dana,\r\n",
    )
    client = _client(alice)

    reader = client.get(f"/mail/{account.id}/{drafts_folder.id}/5/").content.decode()

    edit = f"/mail/{account.id}/compose/?draft={drafts_folder.id}%3A5"
    assert f'href="{edit}" data-action="edit-draft"' in reader
    page = client.get(edit)
    assert page.context["subject"] == "Half written"
    assert page.context["body"].startswith("Dear Dana,")
    assert page.context["in_reply_to"] == "<a@b.c>"
    row = Draft.objects.get(account=account)
    assert (row.folder_id, row.uid, row.saved_version) == (drafts_folder.id, 5, 1)
    # A second device opening it edits the same draft.
    client.get(edit)
    assert Draft.objects.filter(account=account).count() == 1
    inbox_reader = client.get(f"/mail/{account.id}/{folders['INBOX'].id}/1/")
    assert "edit-draft" not in inbox_reader.content.decode()


def test_sending_a_draft_has_it_removed(alice):
    account = account_of(alice)
    client = _client(alice)
    draft_id = _save(client, account, **TYPED).json()["id"]

    sent = client.post(
        f"/mail/{account.id}/compose/",
        {**TYPED, "to": "bob@example.org", "draft": str(draft_id)},
    )

    assert sent.status_code == 302
    outgoing = OutgoingMessage.objects.get(account=account)
    # Removed by the worker once the message has gone (tests/engine).
    assert Draft.objects.get(id=draft_id).sent_with == outgoing
    # A save the leaving page sent after that does not bring it back.
    late = _save(client, account, draft_id, body="late", version="1")
    assert late.status_code == 410
    assert client.get(f"/mail/{account.id}/compose/?edit={draft_id}").status_code == (
        404
    )


def test_another_users_draft_is_not_found(alice, bob):
    account = account_of(alice)
    draft_id = _save(_client(alice), account, **TYPED).json()["id"]
    bob_account = account_of(bob)
    for attempt in (
        _save(_client(bob), bob_account, draft_id, body="x", version="1"),
        _save(_client(bob), bob_account, draft_id, body="x", force="1"),
        _client(bob).get(f"/mail/{bob_account.id}/compose/?edit={draft_id}"),
    ):
        assert attempt.status_code == 404
    # Sending with Alice's draft id leaves her draft alone.
    _client(bob).post(
        f"/mail/{bob_account.id}/compose/",
        {"to": "x@example.org", "body": "hi", "draft": str(draft_id)},
    )
    assert Draft.objects.get(id=draft_id).sent_with is None
