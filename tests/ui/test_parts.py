"""Attachment links, the "More" menu, and who may fetch parts (no worker).

The bytes themselves are tested through a real worker in
tests/engine/test_parts.py; here the mailbox is put in the cache directly.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from tests.ui.conftest import make_user
from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from webmail.shared import bodycache, partlinks

pytestmark = pytest.mark.django_db

NEW_URLS = ("part/2", "part/2?inline=1", "attachments.zip", "source", "eml", "print")


def _with_attachments(folder, uid: int) -> None:
    key = bodycache.cache_key(folder.account_id, folder, uid)
    body = {
        "text": "See the files.",
        "html": "",
        "attachments": [
            {
                "part_id": "2",
                "filename": "plan.png",
                "content_type": "image/png",
                "size": 2048,
            },
            {
                "part_id": "3",
                "filename": "x.svg",
                "content_type": "image/svg+xml",
                "size": 100,
            },
        ],
    }
    cache.set(key, body, 600)


def test_another_users_ids_get_404_for_every_new_url(alice: User, bob: User):
    charlie = make_user("charlie")
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    bobs_inbox = add_folder(account_of(bob), "INBOX")
    add_message(bobs_inbox, 1, "Bob's own")
    client = Client()
    client.force_login(bob)
    for rest in NEW_URLS:
        # Alice's account, folder and message.
        path = f"/mail/{account.id}/{inbox.id}/2/{rest}"
        assert client.get(path).status_code == 404, path
        # Bob's account with Alice's folder.
        path = f"/mail/{account_of(bob).id}/{inbox.id}/2/{rest}"
        assert client.get(path).status_code == 404, path
        # Alice, asking for Bob's folder under her account.
        alice_client = Client()
        alice_client.force_login(alice)
        path = f"/mail/{account.id}/{bobs_inbox.id}/1/{rest}"
        assert alice_client.get(path).status_code == 404, path
        # A message that is not in the folder.
        path = f"/mail/{account.id}/{inbox.id}/99/{rest}"
        assert alice_client.get(path).status_code == 404, path
    # A signed inline part of Alice's works for Alice's id only.
    token = partlinks.sign_part(alice.id, account.id, inbox.id, 2, "2")
    for user in (bob, charlie):
        assert Client().get(f"/mail/part/{user.id}/{token}").status_code == 404
    # Charlie signing Alice's ids with his own salt opens nothing either.
    forged = partlinks.sign_part(charlie.id, account.id, inbox.id, 2, "2")
    assert Client().get(f"/mail/part/{charlie.id}/{forged}").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    for rest in NEW_URLS:
        response = Client().get(f"/mail/{account.id}/{inbox.id}/2/{rest}")
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_the_reading_pane_lists_attachments_and_more(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    _with_attachments(inbox, 1)
    client = Client()
    client.force_login(alice)
    base = f"/mail/{account.id}/{inbox.id}/1/"
    page = client.get(base).content.decode()
    assert f'<a href="{base}part/2" download>plan.png</a>' in page
    assert "2.0\xa0KB" in page
    assert "image/png" in page
    assert f'href="{base}part/2?inline=1"' in page
    # SVG can carry scripts: it downloads, never previews.
    assert f'<a href="{base}part/3" download>x.svg</a>' in page
    assert f'href="{base}part/3?inline=1"' not in page
    assert f'href="{base}attachments.zip"' in page
    for rest in ("source", "eml", "print"):
        assert f'href="{base}{rest}"' in page


def test_the_new_words_are_in_japanese(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    _with_attachments(inbox, 1)
    client = Client(headers={"accept-language": "ja"})
    client.force_login(alice)
    page = client.get(f"/mail/{account.id}/{inbox.id}/1/").content.decode()
    for word in ("すべてダウンロード", "プレビュー", "ソースを表示", "印刷"):
        assert word in page, word
