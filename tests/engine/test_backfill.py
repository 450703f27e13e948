"""Older messages load in pieces, each stored whole, with all the list shows.

These run the backfill in the test process (the worker runs the same code).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from django.test import override_settings

from tests.engine.conftest import account_for, fill, synced_inbox
from webmail.engine import backfill, connections, folderlist, sync
from webmail.models import Folder, Message, OperationKind, PendingOperation


def _rich_message() -> bytes:
    msg = EmailMessage()
    msg["From"] = "=?UTF-8?B?5bGx55Sw?= <yamada@example.jp>"
    msg["To"] = "Bob <bob@example.org>, carol@example.org"
    msg["Cc"] = "Dave <dave@example.org>"
    msg["Subject"] = "=?UTF-8?Q?Quarterly_report_=E2=9C=93?="
    msg["Date"] = "Mon, 2 Mar 2026 08:15:00 -0500"
    msg["Message-ID"] = "<report-2@example.org>"
    msg["In-Reply-To"] = "<report-1@example.org>"
    msg["References"] = "<report-0@example.org> <report-1@example.org>"
    msg.set_content("The numbers are in.\n")
    msg.add_attachment(b"%PDF-1.4 " * 40, maintype="application", subtype="pdf")
    return msg.as_bytes()


def _load_all(account_id: int, folder_id: int) -> list[sync.SyncResult]:
    results = [sync.sync_folder(account_id, folder_id)]
    while results[-1] is not None and results[-1].more:
        results.append(backfill.backfill_folder(account_id, folder_id))
    return [r for r in results if r is not None]


@pytest.mark.django_db
def test_a_backfilled_message_has_all_the_list_shows(server_user, other_device):
    phone = other_device(server_user)
    phone.append(
        "INBOX",
        _rich_message(),
        flags=[b"\\Seen", b"\\Flagged", b"$Forwarded", b"$Label1"],
        msg_time=datetime(2026, 3, 2, 13, 16, 0, tzinfo=UTC),
    )
    fill(phone, "INBOX", 8)
    phone.select_folder("INBOX")
    phone.normalise_times = False
    on_server = phone.fetch([1], ["RFC822.SIZE", "INTERNALDATE"])[1]
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")

    with override_settings(IMAP_SYNC_BATCH=4):
        results = _load_all(account.id, inbox.id)

    # The first sync took the newest four; backfills the rest, older last.
    assert [r.new for r in results] == [[6, 7, 8, 9], [2, 3, 4, 5], [1]]
    row = Message.objects.get(folder=inbox, uid=1)
    assert (row.from_name, row.from_address) == ("山田", "yamada@example.jp")
    assert row.to == [["Bob", "bob@example.org"], ["", "carol@example.org"]]
    assert row.cc == [["Dave", "dave@example.org"]]
    assert row.subject == "Quarterly report ✓"
    assert row.date == datetime(2026, 3, 2, 13, 15, tzinfo=UTC)
    assert row.internaldate == on_server[b"INTERNALDATE"].astimezone(UTC)
    assert row.size == on_server[b"RFC822.SIZE"]
    assert row.has_attachments
    assert (row.seen, row.flagged, row.forwarded, row.answered) == (
        True,
        True,
        True,
        False,
    )
    assert row.keywords == ["$Label1"]
    assert row.message_id == "<report-2@example.org>"
    assert row.in_reply_to == "<report-1@example.org>"
    assert row.references == "<report-0@example.org> <report-1@example.org>"
    assert row.thread_key == "<report-0@example.org>"
    # Sort keys the database keeps from the stored values.
    assert row.sort_subject == "quarterly report ✓"
    assert (row.modseq is not None) == (server_user.server.variant == "full")
    plain = Message.objects.get(folder=inbox, uid=5)
    assert plain.subject == "msg 3" and not plain.has_attachments
    assert not plain.seen and plain.keywords == []
    inbox.refresh_from_db()
    assert inbox.complete and inbox.unseen == 8


def _sixteen_on_the_server(server_user, other_device):
    """Return the account and its INBOX of 16 messages, none of them cached."""
    fill(other_device(server_user), "INBOX", 16)
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    return account, Folder.objects.get(account=account, name="INBOX")


def _backfill_while_the_mark_moves(account, inbox, monkeypatch, to: int):
    """Cache 9 to 16, then run a backfill in pieces of 8.

    Once its first piece (7 and 8) is stored, another task sets the folder's
    mark to `to`.
    """
    store = backfill._store_older

    def and_then_the_mark_moves(folder_id, below, mark, summaries):
        stored = store(folder_id, below, mark, summaries)
        Folder.objects.filter(id=folder_id).update(backfill_below_uid=to)
        return stored

    with override_settings(IMAP_SYNC_BATCH=8):
        sync.sync_folder(account.id, inbox.id)  # 9 to 16
        monkeypatch.setattr(backfill, "_store_older", and_then_the_mark_moves)
        try:
            return backfill.backfill_folder(account.id, inbox.id)
        finally:
            monkeypatch.setattr(backfill, "_store_older", store)


@pytest.mark.django_db
def test_a_backfill_overtaken_by_another_task_stops_and_keeps_its_link(
    server_user, other_device, monkeypatch
):
    account, inbox = _sixteen_on_the_server(server_user, other_device)
    # Meanwhile another task loads everything older.
    result = _backfill_while_the_mark_moves(account, inbox, monkeypatch, to=1)

    # The first piece (UIDs 7 and 8) was stored, then the task gave way.
    assert result is not None and result.new == [7, 8] and not result.more
    cached = Message.objects.filter(folder=inbox).values_list("uid", flat=True)
    assert sorted(cached) == list(range(7, 17))
    # The FETCH of the next piece was read to its end: the connection went
    # back to the pool and answers the next command with its own answer.
    assert connections.get_pool().open_count(account.id) == 1
    with connections.account_session(account.id, folder="INBOX") as session:
        (summary,) = session.fetch_summaries([2])
    assert summary.uid == 2 and summary.envelope.subject == "msg 1"
    assert connections.get_pool().open_count(account.id) == 1


@pytest.mark.django_db
def test_new_messages_are_stored_with_the_users_pending_actions(
    server_user, other_device
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = synced_inbox(account)
    fill(phone, "INBOX", 2, prefix="late")  # UIDs 3 and 4
    # Actions the outbox has not pushed yet, taken on messages the cache
    # lacks (as from search results): starring 3, moving 4 away.
    pending = {"account": account, "folder": inbox, "folder_name": "INBOX"}
    PendingOperation.objects.create(
        **pending,
        kind=OperationKind.FLAGS,
        uidvalidity=inbox.uidvalidity,
        uids=[3],
        payload={"add": ["\\Flagged", "$Todo"], "remove": []},
    )
    PendingOperation.objects.create(
        **pending,
        kind=OperationKind.MOVE,
        uidvalidity=inbox.uidvalidity,
        uids=[4],
        payload={"target": "Archive"},
    )

    result = sync.sync_folder(account.id, inbox.id)

    assert result.new == [3]
    late = Message.objects.get(folder=inbox, uid=3)
    assert late.subject == "late 0" and late.flagged and late.keywords == ["$Todo"]
    assert not Message.objects.filter(folder=inbox, uid=4).exists()


@pytest.mark.django_db
def test_a_second_backfill_of_a_folder_leaves_it_to_the_running_one(
    server_user, other_device, monkeypatch
):
    # Every sync of a partly loaded folder (each page view) queues a backfill;
    # while one runs, those must not fetch the same messages again.
    account, inbox = _sixteen_on_the_server(server_user, other_device)
    store = backfill._store_older
    meanwhile: list[sync.SyncResult | None] = []

    def with_a_page_view(folder_id, below, mark, summaries):
        if not meanwhile:
            meanwhile.append(backfill.backfill_folder(account.id, folder_id))
        return store(folder_id, below, mark, summaries)

    with override_settings(IMAP_SYNC_BATCH=8):
        sync.sync_folder(account.id, inbox.id)  # 9 to 16
        monkeypatch.setattr(backfill, "_store_older", with_a_page_view)
        result = backfill.backfill_folder(account.id, inbox.id)
        assert meanwhile == [None]
        # The running one loaded its whole batch; the next one goes on.
        assert result is not None and result.new == list(range(1, 9))
        assert backfill.backfill_folder(account.id, inbox.id) is None  # complete
    cached = Message.objects.filter(folder=inbox).values_list("uid", flat=True)
    assert sorted(cached) == list(range(1, 17))


@pytest.mark.django_db
def test_a_sync_during_a_backfill_keeps_what_the_backfill_loaded(
    server_user, other_device, monkeypatch
):
    account, inbox = _sixteen_on_the_server(server_user, other_device)
    with override_settings(IMAP_SYNC_BATCH=8):
        sync.sync_folder(account.id, inbox.id)  # 9 to 16
        # UID 17: the next sync stores it.
        fill(other_device(server_user), "INBOX", 1, prefix="new")
        folder_state = sync._folder_state

        def backfilled_meanwhile(session, folder):
            state = folder_state(session, folder)
            # While this sync talks to the server, a backfill loads 1 to 8.
            assert backfill.backfill_folder(account.id, inbox.id).new == list(
                range(1, 9)
            )
            return state

        monkeypatch.setattr(sync, "_folder_state", backfilled_meanwhile)
        result = sync.sync_folder(account.id, inbox.id)

    assert result.new == [17] and not result.more
    inbox.refresh_from_db()
    # Still known complete: nothing is fetched again.
    assert inbox.complete and backfill.backfill_folder(account.id, inbox.id) is None
    cached = Message.objects.filter(folder=inbox).values_list("uid", flat=True)
    assert sorted(cached) == list(range(1, 18))


@pytest.mark.django_db
def test_a_backfill_that_gives_way_to_a_reload_queues_the_next_batch(
    server_user, other_device, monkeypatch
):
    # The reload's own backfill may have been turned away while this one
    # ran: the folder's loading must go on all the same.
    account, inbox = _sixteen_on_the_server(server_user, other_device)
    # Meanwhile the folder is reloaded: only 13 to 16 are known loaded.
    result = _backfill_while_the_mark_moves(account, inbox, monkeypatch, to=13)
    assert result is not None and result.new == [7, 8] and result.more
    while result is not None and result.more:
        result = backfill.backfill_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    assert inbox.complete
    cached = Message.objects.filter(folder=inbox).values_list("uid", flat=True)
    assert sorted(cached) == list(range(1, 17))
