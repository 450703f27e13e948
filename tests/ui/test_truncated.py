"""A message whose text is too long to show whole: its start, a note, a link.

The body is put in the cache as the worker leaves it; no worker runs.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from tests.ui.mail import account_of, add_folder, add_message
from webmail.shared import bodycache

pytestmark = pytest.mark.django_db

NOTE = "This message is too long to show in full: only its start is shown."


def cached(user: User, truncated: bool) -> str:
    inbox = add_folder(account_of(user), "INBOX")
    add_message(inbox, 1, "Weekly news")
    body: dict[str, object] = {
        "text": None,
        "raw_html": "<p>Top story</p>",
        "html": "<p>Top story</p>",
        "attachments": [],
        "truncated": truncated,
    }
    cache.set(bodycache.cache_key(inbox.account_id, inbox, 1), body, 600)
    return f"/mail/{inbox.account_id}/{inbox.id}/1/"


def test_the_reading_pane_says_the_text_is_cut_and_offers_all_of_it(alice: User):
    url = cached(alice, truncated=True)
    client = Client()
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert NOTE in page
    assert f'<a href="{url}eml" download data-action="eml-whole">' in page
    assert "Top story" in client.get(f"{url}body").content.decode()
    assert NOTE in client.get(f"{url}print").content.decode()


def test_a_whole_text_has_no_note(alice: User):
    url = cached(alice, truncated=False)
    client = Client()
    client.force_login(alice)
    assert NOTE not in client.get(url).content.decode()
    assert NOTE not in client.get(f"{url}print").content.decode()


def test_the_note_is_in_japanese(alice: User):
    url = cached(alice, truncated=True)
    client = Client(headers={"accept-language": "ja"})
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "冒頭だけを表示しています" in page
    assert "メッセージ全体をダウンロード" in page
