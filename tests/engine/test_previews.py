"""Every message gets its preview line from the start of its first text part.

These run the pass in the test process, in the order the worker's tasks
run (engine/previews.py), against the real Dovecots.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client, override_settings

from tests.engine.conftest import account_for, wait_for
from tests.engine.preview_mail import BODIES, raw_message, whole_body_preview
from webmail.engine import backfill, connections, folderlist, previews, sync
from webmail.engine.publish import previews_and_publish
from webmail.models import Folder, Message

NAMES = list(BODIES)
# Small batches: the pass takes many tasks over these few messages.
SMALL = {"IMAP_SYNC_BATCH": 4, "IMAP_FIRST_BATCH": 4, "PREVIEW_BATCH": 3}


def _mixed_inbox(server_user, other_device):
    """Append one message of each shape (UID n is NAMES[n - 1]); sync the list."""
    phone = other_device(server_user)
    for name in NAMES:
        phone.append("INBOX", raw_message(name))
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    return phone, account, Folder.objects.get(account=account, name="INBOX")


def _passes(account_id: int, folder_id: int) -> list[list[int]]:
    """Run the pass until it has nothing to do now; return what each batch read."""
    read = []
    while (result := previews.load_previews(account_id, folder_id)) is not None:
        read.append(result.read)
        if not result.more:
            break
    return read


def _shown(folder: Folder) -> dict[int, str]:
    return dict(Message.objects.filter(folder=folder).values_list("uid", "preview"))


def _seen_on_server(phone) -> list[int]:
    phone.select_folder("INBOX", readonly=True)
    return list(phone.search(["SEEN"]))


@pytest.mark.django_db
def test_every_message_gets_the_line_its_whole_body_gives(server_user, other_device):
    phone, account, inbox = _mixed_inbox(server_user, other_device)

    with override_settings(**SMALL):
        sync.sync_folder(account.id, inbox.id)
        # The first batch, right after the first page: the newest messages.
        first = _passes(account.id, inbox.id)
        # The rest waits for the backfill.
        while backfill.backfill_folder(account.id, inbox.id).more:
            assert previews.load_previews(account.id, inbox.id) is None
        rest = _passes(account.id, inbox.id)

    count = len(NAMES)
    assert first == [[count, count - 1, count - 2]]
    # Then newest first, each message read once.
    read = [uid for batch in first + rest for uid in batch]
    assert read == list(range(count, 0, -1))
    expected = {
        n: whole_body_preview(raw_message(name)) for n, name in enumerate(NAMES, 1)
    }
    assert _shown(inbox) == expected
    assert expected[NAMES.index("attachment only") + 1] == ""
    inbox.refresh_from_db()
    assert not previews.previews_due(inbox)
    # Read with BODY.PEEK: the other device still sees every message unread.
    assert _seen_on_server(phone) == []


@pytest.mark.django_db
def test_a_restarted_worker_goes_on_where_the_pass_stopped(imap_user, other_device):
    _, account, inbox = _mixed_inbox(imap_user, other_device)
    # The first sync loads the whole folder; the pass reads three a batch.
    with override_settings(PREVIEW_BATCH=3):
        sync.sync_folder(account.id, inbox.id)
        first = previews.load_previews(account.id, inbox.id)
        second = previews.load_previews(account.id, inbox.id)
        # The worker stops; a new one starts with new connections, and the
        # next sync of the folder (a page view) asks for the pass again.
        connections.close_pool()
        result = sync.sync_folder(account.id, inbox.id)
        assert result is not None and result.previews_due
        rest = _passes(account.id, inbox.id)

    assert first is not None and second is not None
    read = [uid for batch in [first.read, second.read, *rest] for uid in batch]
    assert read == list(range(len(NAMES), 0, -1))
    assert all(
        _shown(inbox)[n] == whole_body_preview(raw_message(name))
        for n, name in enumerate(NAMES, 1)
    )


@pytest.mark.django_db
def test_a_preview_already_there_stays(server_user, other_device):
    _, account, inbox = _mixed_inbox(server_user, other_device)
    sync.sync_folder(account.id, inbox.id)
    Message.objects.filter(folder=inbox, uid=1).update(preview="Set by the body")

    # One batch: every shape at once, the partial FETCHes sent together.
    assert len(_passes(account.id, inbox.id)) == 1

    expected = {
        n: whole_body_preview(raw_message(name)) for n, name in enumerate(NAMES, 1)
    }
    assert _shown(inbox) == {**expected, 1: "Set by the body"}


@pytest.mark.django_db
def test_new_mail_gets_its_line_first(imap_user, other_device, subscribe):
    phone, account, inbox = _mixed_inbox(imap_user, other_device)
    with override_settings(**SMALL):
        sync.sync_folder(account.id, inbox.id)
        _passes(account.id, inbox.id)  # the newest three
        phone.append("INBOX", raw_message("iso-2022-jp"))
        phone.append("INBOX", raw_message("html only"))
        new = len(NAMES) + 1
        listener = subscribe(account.user_id)

        result = sync.sync_folder(account.id, inbox.id)
        assert result is not None and result.new == [new, new + 1]
        assert result.previews_due
        batch = previews_and_publish(account.id, inbox.id)

    # Before the older mail, which the backfill has not even loaded.
    assert batch is not None and batch.read == [new, new + 1]
    # The pages showing them redraw.
    listener.wait(lambda e: e["type"] == "previews" and e["uids"] == [new, new + 1])
    shown = _shown(inbox)
    assert shown[new] == whole_body_preview(raw_message("iso-2022-jp"))
    assert shown[new + 1] == whole_body_preview(raw_message("html only"))
    assert Message.objects.filter(folder=inbox, uid__lt=new - 3, preview="").exists()


ROW = re.compile(r'<li id="m(\d+)".*?<span class="preview">(.*?)</span>', re.DOTALL)


@pytest.mark.django_db(transaction=True)
def test_after_sign_in_the_list_shows_the_line_of_an_old_message(
    worker, imap_user, other_device
):
    # 252 messages: more than the first page's batch and the pass's.
    copies = 18
    phone = other_device(imap_user)
    phone.multiappend("INBOX", [raw_message(name) for name in NAMES] * copies)
    account = account_for(imap_user)
    client = Client()
    client.force_login(account.user)

    # The first visit has the worker sync the account; the rest follows.
    assert client.get(f"/mail/{account.id}/").status_code in (200, 302)
    total = len(NAMES) * copies
    wait_for(
        lambda: (
            Message.objects.filter(folder__account=account, folder__name="INBOX")
            .exclude(preview="")
            .count()
            == total - copies  # all but the attachment-only ones
        ),
        timeout=120,
        what="every preview",
    )

    inbox = Folder.objects.get(account=account, name="INBOX")
    expected = {
        uid: whole_body_preview(raw_message(NAMES[(uid - 1) % len(NAMES)]))
        for uid in range(1, total + 1)
    }
    assert _shown(inbox) == expected
    # The oldest page: the first messages appended, far from those the
    # worker rendered ahead when they arrived.
    page = client.get(f"/mail/{account.id}/{inbox.id}/?sort=date&dir=asc")
    rows = {
        int(uid): html.unescape(line)
        for uid, line in ROW.findall(page.content.decode())
    }
    assert rows[1] == expected[1] and rows[1].startswith("I went through the figures")
    assert rows[NAMES.index("euc-jp") + 1].startswith("来週の打ち合わせですが")
    assert _seen_on_server(phone) == []
