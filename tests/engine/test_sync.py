"""The cache follows the server: new mail, other devices' changes, rebuilds.

These run the sync in the test process (the worker runs the same code).
"""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.engine.conftest import account_for, fill
from webmail.engine import backfill, connections, folderlist, sync
from webmail.mail import changes, reading
from webmail.models import Folder, Message, PendingOperation


def _inbox(account) -> Folder:
    folderlist.sync_folder_list(account.id)
    return Folder.objects.get(account=account, name="INBOX")


def _cached(folder: Folder) -> dict[int, Message]:
    return {m.uid: m for m in Message.objects.filter(folder=folder)}


@pytest.mark.django_db
def test_first_sync_loads_newest_first_then_backfills(server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 7)
    account = account_for(server_user)
    inbox = _inbox(account)
    with override_settings(IMAP_SYNC_BATCH=3):
        result = sync.sync_folder(account.id, inbox.id)
        assert result.new == [5, 6, 7] and result.more
        page = reading.list_messages(account, inbox)
        assert [m.subject for m in page.messages] == ["msg 6", "msg 5", "msg 4"]
        while result and result.more:
            result = backfill.backfill_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    assert inbox.complete and inbox.total == 7 and inbox.unseen == 7
    assert sorted(_cached(inbox)) == list(range(1, 8))


@pytest.mark.django_db
def test_changes_by_another_device_reach_the_cache(server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 4)
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)

    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Seen"])
    phone.add_flags([2], [b"\\Flagged", b"$Forwarded", b"$Label1"])
    phone.delete_messages([3])
    phone.expunge()
    phone.append("INBOX", b"Subject: late\r\n\r\nhi\r\n")

    result = sync.sync_folder(account.id, inbox.id)
    assert result.changed == [1, 2] or set(result.changed) >= {1, 2}
    assert result.vanished == [3]
    assert result.new == [5]
    cached = _cached(inbox)
    assert cached[1].seen and not cached[2].seen
    assert (
        cached[2].flagged and cached[2].forwarded and cached[2].keywords == ["$Label1"]
    )
    assert 3 not in cached and cached[5].subject == "late"
    inbox.refresh_from_db()
    assert inbox.total == 4 and inbox.unseen == 3

    # Nothing changed: nothing reported.
    again = sync.sync_folder(account.id, inbox.id)
    assert not again.anything


@pytest.mark.django_db
def test_read_and_unread_on_another_device_move_the_unread_count(
    server_user, other_device
):
    phone = other_device(server_user)
    fill(phone, "INBOX", 4)
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)
    phone.select_folder("INBOX")

    def unread_after_sync() -> int:
        sync.sync_folder(account.id, inbox.id)
        return Folder.objects.get(id=inbox.id).unseen

    assert unread_after_sync() == 4
    phone.add_flags([1, 2], [b"\\Seen"])
    assert unread_after_sync() == 2
    phone.remove_flags([1], [b"\\Seen"])
    phone.add_flags([3], [b"\\Flagged", b"$Label1"])
    assert unread_after_sync() == 3
    phone.add_flags([1, 3, 4], [b"\\Seen"])
    assert unread_after_sync() == 0


@pytest.mark.django_db
def test_a_recreated_folder_is_loaded_again(server_user, other_device):
    phone = other_device(server_user)
    phone.create_folder("Work")
    fill(phone, "Work", 3, prefix="old")
    account = account_for(server_user)
    folderlist.sync_folder_list(account.id)
    work = Folder.objects.get(account=account, name="Work")
    sync.sync_folder(account.id, work.id)
    assert len(_cached(work)) == 3

    phone.delete_folder("Work")
    phone.create_folder("Work")
    fill(phone, "Work", 2, prefix="new")
    result = sync.sync_folder(account.id, work.id)
    assert result.rebuilt
    assert sorted(m.subject for m in Message.objects.filter(folder=work)) == [
        "new 0",
        "new 1",
    ]


@pytest.mark.django_db
def test_a_sync_keeps_actions_not_yet_on_the_server(server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)

    changes.set_flags(account, inbox, [1], add=["\\Seen"])
    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Flagged"])
    sync.sync_folder(account.id, inbox.id)

    message = Message.objects.get(folder=inbox, uid=1)
    assert message.seen and message.flagged
    assert (
        PendingOperation.objects.filter(account=account, state="pending").count() == 1
    )


@pytest.mark.django_db
def test_undoing_a_refused_action_keeps_what_the_sync_does_not_fetch(
    server_user, other_device
):
    """The rows a refused action took out come back; the others take the
    server's flags in place and keep their preview."""
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    Message.objects.filter(folder=inbox, uid=1).update(preview="Bring the ladder.")
    Message.objects.filter(folder=inbox, uid=2).delete()  # as a move does
    phone.select_folder("INBOX")
    phone.add_flags([1], [b"\\Flagged"])

    with connections.account_session(account.id) as session:
        sync.refresh_uids(session, inbox, [1, 2])

    cached = _cached(inbox)
    assert sorted(cached) == [1, 2]
    assert cached[1].flagged
    assert cached[1].preview == "Bring the ladder."
    assert cached[2].subject == "msg 1"


@pytest.mark.django_db
def test_the_folder_list_follows_the_server(server_user, other_device):
    phone = other_device(server_user)
    sep = server_user.server.delimiter
    phone.create_folder(f"Projects{sep}Alpha")
    account = account_for(server_user)
    assert folderlist.sync_folder_list(account.id).changed
    alpha = Folder.objects.get(account=account, name=f"Projects{sep}Alpha")
    assert alpha.parent is not None and alpha.parent.name == "Projects"
    assert alpha.path == ["Projects", "Alpha"]

    phone.delete_folder(f"Projects{sep}Alpha")
    assert folderlist.sync_folder_list(account.id).changed
    assert not Folder.objects.filter(id=alpha.id).exists()
    assert not folderlist.sync_folder_list(account.id).changed


@pytest.mark.django_db
def test_a_date_no_zone_has_does_not_stop_the_sync(server_user, other_device):
    phone = other_device(server_user)
    fill(phone, "INBOX", 2)
    phone.append(
        "INBOX",
        b"From: Odd Clock <odd@example.net>\r\n"
        b"To: someone@example.org\r\n"
        b"Subject: From a broken clock\r\n"
        b"Date: Mon, 1 Jan 2024 10:00:00 +2400\r\n"
        b"\r\n"
        b"Hello.\r\n",
    )
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)
    cached = _cached(inbox)
    assert sorted(cached) == [1, 2, 3]
    odd = cached[3]
    assert odd.subject == "From a broken clock"
    # Dated by its arrival on the server instead.
    assert odd.date == odd.internaldate is not None


@pytest.mark.django_db
def test_a_folder_list_keeps_what_the_folders_sync_wrote_meanwhile(
    server_user, other_device
):
    """The folder list and a folder's sync run side by side in the worker.

    The list reads the account's folders, asks the server, then writes what
    LIST said; a sync that saved a folder's marks in between must keep them
    (else the next sync fetches and announces that mail again).
    """
    from django.db.models.signals import pre_save

    fill(other_device(server_user), "INBOX", 3)
    account = account_for(server_user)
    inbox = _inbox(account)
    sync.sync_folder(account.id, inbox.id)
    inbox.refresh_from_db()
    synced = (inbox.uidnext, inbox.backfill_below_uid)

    def sync_lands_first(sender, instance, **_) -> None:
        if instance.pk == inbox.pk:
            pre_save.disconnect(sync_lands_first, sender=Folder)
            uidnext, below = synced
            Folder.objects.filter(pk=inbox.pk).update(
                uidnext=uidnext, backfill_below_uid=below
            )

    # The list read the row when its marks were still empty.
    Folder.objects.filter(pk=inbox.pk).update(uidnext=None, backfill_below_uid=None)
    pre_save.connect(sync_lands_first, sender=Folder)
    try:
        folderlist.sync_folder_list(account.id)
    finally:
        pre_save.disconnect(sync_lands_first, sender=Folder)
    inbox.refresh_from_db()
    assert (inbox.uidnext, inbox.backfill_below_uid) == synced
