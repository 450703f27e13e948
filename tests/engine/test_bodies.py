"""Bodies in the worker: fetched, rendered, and kept in the cache within bounds.

These run the worker's code in the test process against a real Dovecot.
"""

from __future__ import annotations

import pytest

from tests.engine.conftest import account_for, message_bytes, wait_for
from webmail import bodies, push, sync
from webmail.models import Folder, Message


@pytest.mark.django_db
@pytest.mark.usefixtures("_test_redis")
def test_a_body_too_large_for_the_cache_is_shown_but_not_kept(
    server_user, other_device, settings
):
    settings.BODY_CACHE_MAX_ITEM = 5_000
    phone = other_device(server_user)
    phone.append("INBOX", message_bytes("small", "A short note.\n"))
    phone.append("INBOX", message_bytes("large", "many words " * 1_000 + "\n"))
    account = account_for(server_user)
    sync.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()  # the cache key carries its UIDVALIDITY

    large = bodies.load_body(account.id, inbox.id, 2)
    assert large["text"].startswith("many words")
    assert bodies.cached_body(account.id, inbox, 2) is None

    small = bodies.load_body(account.id, inbox.id, 1)
    assert "A short note." in small["text"]
    assert bodies.cached_body(account.id, inbox, 1) == small


@pytest.mark.django_db(transaction=True)
def test_new_mail_is_ready_to_open_before_anyone_opens_it(
    worker, server_user, other_device, settings
):
    settings.BODY_PREFETCH = 2
    phone = other_device(server_user)
    account = account_for(server_user)
    sync.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    for n, words in enumerate(("Early harvest.", "Late frost.", "Spring rain.")):
        phone.append("INBOX", message_bytes(f"news {n}", words + "\n"))

    # The sync that finds them (here as a page view's or the watcher's)
    # has the worker render the newest two before anyone opens them.
    push.sync_and_publish(account.id, inbox.id)
    inbox.refresh_from_db()
    body = wait_for(lambda: bodies.cached_body(account.id, inbox, 3), what="body")
    assert "Spring rain." in body["text"]
    wait_for(lambda: bodies.cached_body(account.id, inbox, 2), what="second body")
    assert bodies.cached_body(account.id, inbox, 1) is None
    # The list shows their text, and the server still has them unread.
    assert Message.objects.get(folder=inbox, uid=3).preview == "Spring rain."
    phone.select_folder("INBOX", readonly=True)
    flags = phone.fetch([1, 2, 3], ["FLAGS"])
    assert all(b"\\Seen" not in data[b"FLAGS"] for data in flags.values())
