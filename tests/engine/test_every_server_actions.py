"""The user's actions reach every IMAP server: Dovecot, Cyrus and Courier.

Run through the worker and the outbox as on the page; the phone (a second
IMAP connection) checks what is really on the server. Cyrus and Courier are
marked slow (see tests.fixtures.servers.every_server).
"""

from __future__ import annotations

import time
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from tests.engine.conftest import (
    account_for,
    fill,
    message_bytes,
    restarted_with,
    wait_for,
)
from tests.fixtures.servers import ImapUser
from webmail.engine import folderlist, sync
from webmail.mail import reading, watching
from webmail.models import AccountState, Folder, Message, PendingOperation
from webmail.views.present import folder_nodes

pytestmark = pytest.mark.django_db(transaction=True)


def _personal(phone) -> str:
    """The personal namespace prefix, as the phone sees it ("INBOX." on Courier)."""
    personal = phone.namespace().personal
    return personal[0][0] if personal else ""


def _subjects_on_server(phone, folder: str) -> list[str]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search("ALL")
    found = phone.fetch(uids, ["ENVELOPE"]) if uids else {}
    return sorted(data[b"ENVELOPE"].subject.decode() for data in found.values())


def _flags_on_server(phone, uid: int) -> list[str]:
    # Selected again each time: Courier tells a selected view of other
    # connections' changes only at some commands.
    phone.select_folder("INBOX", readonly=True)
    return [f.decode() for f in phone.fetch([uid], ["FLAGS"])[uid][b"FLAGS"]]


def _with_special_folders(phone) -> None:
    """Make Trash, Archive, ... where the server made none (dovecot_prefixed)."""
    prefix = _personal(phone)
    names = {name for _, _, name in phone.list_folders()}
    for name in ("Trash", "Archive"):
        if prefix + name not in names:
            phone.create_folder(prefix + name)
            phone.subscribe_folder(prefix + name)


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(account=account, state="pending")


def _synced(account) -> Folder:
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    return inbox


def _bulk(account, folder: Folder, action: str, uids, **extra) -> str:
    client = Client()
    client.force_login(account.user)
    response = client.post(
        f"/mail/{account.id}/{folder.id}/bulk",
        {"action": action, "uid": [str(u) for u in uids], **extra},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="list",
    )
    assert response.status_code == 200
    return response.content.decode()


def test_folders_show_as_the_user_thinks_of_them(worker, any_imap_user, other_device):
    phone = other_device(any_imap_user)
    prefix = _personal(phone)
    delimiter = phone.namespace().personal[0][1] or "/"
    for name in (f"{prefix}仕事", f"{prefix}仕事{delimiter}報告"):
        phone.create_folder(name)
        phone.subscribe_folder(name)
    _with_special_folders(phone)
    account = account_for(any_imap_user)
    folderlist.sync_folder_list(account.id)

    folders = reading.folders(account)
    # The sidebar: 仕事 at the top with 報告 under it, not all under Inbox.
    lines = {(n.title, n.depth) for n in folder_nodes(account.id, folders)}
    assert {
        ("Inbox", 0),
        ("仕事", 0),
        ("報告", 1),
        ("Trash", 0),
        ("Archive", 0),
    } <= lines
    trash = next(f for f in folders if f.special_use == "\\Trash")
    assert trash.name == f"{prefix}Trash"


def test_flags_go_both_ways(worker, any_imap_user, other_device):
    phone = other_device(any_imap_user)
    fill(phone, "INBOX", 2)
    account = account_for(any_imap_user)
    inbox = _synced(account)
    first, second = sorted(
        Message.objects.filter(folder=inbox).values_list("uid", flat=True)
    )

    assert "1 message starred." in _bulk(account, inbox, "star", [first])
    wait_for(lambda: "\\Flagged" in _flags_on_server(phone, first), what="the star")

    phone.select_folder("INBOX")
    phone.add_flags([second], [b"\\Seen"])
    sync.sync_folder(account.id, inbox.id)
    assert Message.objects.get(folder=inbox, uid=second).seen


def test_delete_goes_to_trash(worker, any_imap_user, other_device):
    phone = other_device(any_imap_user)
    _with_special_folders(phone)
    fill(phone, "INBOX", 2)
    account = account_for(any_imap_user)
    inbox = _synced(account)
    uid = Message.objects.get(folder=inbox, subject="msg 0").uid

    page = _bulk(account, inbox, "delete", [uid])

    assert "1 message moved to Trash." in page
    trash = f"{_personal(phone)}Trash"
    wait_for(lambda: _subjects_on_server(phone, trash) == ["msg 0"], what="in Trash")
    assert _subjects_on_server(phone, "INBOX") == ["msg 1"]


# Where a mailbox has no Trash: Courier's users and the prefixed Dovecot's.
@pytest.mark.parametrize(
    "kind",
    [
        "dovecot_prefixed",
        pytest.param("courier", marks=[pytest.mark.slow, pytest.mark.other_servers]),
    ],
)
def test_delete_where_there_is_no_trash_makes_one(worker, kind, request, other_device):
    server = request.getfixturevalue(kind)
    user = ImapUser(f"user-{uuid.uuid4().hex[:12]}@example.org", "pass-1234", server)
    if kind == "courier":
        server.add_user(user.username, user.password, special_folders=False)
    else:
        server.add_user(user.username, user.password)  # makes none
    phone = other_device(user)
    trash = f"{_personal(phone)}Trash"
    assert trash not in {name for _, _, name in phone.list_folders()}
    fill(phone, "INBOX", 2)
    account = account_for(user)
    inbox = _synced(account)
    uid = Message.objects.get(folder=inbox, subject="msg 1").uid

    _bulk(account, inbox, "delete", [uid])

    wait_for(lambda: _drained(account), what="outbox drained")
    assert _subjects_on_server(phone, trash) == ["msg 1"]
    assert _subjects_on_server(phone, "INBOX") == ["msg 0"]


def test_move_reaches_the_other_folder(worker, any_imap_user, other_device):
    phone = other_device(any_imap_user)
    _with_special_folders(phone)
    fill(phone, "INBOX", 3)
    account = account_for(any_imap_user)
    inbox = _synced(account)
    archive = Folder.objects.get(account=account, name=f"{_personal(phone)}Archive")
    uids = sorted(
        Message.objects.filter(
            folder=inbox, subject__in=["msg 0", "msg 2"]
        ).values_list("uid", flat=True)
    )

    _bulk(account, inbox, "move", uids, target=str(archive.id))

    wait_for(lambda: _drained(account), what="outbox drained")
    assert _subjects_on_server(phone, archive.name) == ["msg 0", "msg 2"]
    assert _subjects_on_server(phone, "INBOX") == ["msg 1"]
    sync.sync_folder(account.id, archive.id)
    assert sorted(
        Message.objects.filter(folder=archive).values_list("subject", flat=True)
    ) == [
        "msg 0",
        "msg 2",
    ]


def test_japanese_search_finds_the_body(worker, any_imap_user, other_device):
    phone = other_device(any_imap_user)
    phone.append(
        "INBOX",
        b"Subject: plans\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        # Past the cached preview: only the server's search can find it.
        + ("お知らせ。" * 100 + "\r\n来週の会議について\r\n").encode(),
    )
    phone.append("INBOX", message_bytes("other", "nothing here\n"))
    account = account_for(any_imap_user)
    _synced(account)
    client = Client()
    client.force_login(account.user)

    url = reverse("mail_search", args=[account.id])
    page = client.get(url, {"q": "来週"}).content.decode()

    assert "plans" in page and "other" not in page


def test_quota_is_read(worker, make_imap_user, every_server, other_device):
    user = make_imap_user(server=every_server, quota_mb=50)
    phone = other_device(user)
    phone.append("INBOX", message_bytes("big", "x" * 300_000 + "\n"))
    account = account_for(user)

    folderlist.sync_folder_list(account.id)

    state = AccountState.objects.get(account=account)
    assert state.quota_limit_kb == 50 * 1024
    assert state.quota_used_kb is not None and state.quota_used_kb >= 290


def test_another_clients_changes_reach_the_open_page(
    worker, any_imap_user, other_device, subscribe
):
    phone = other_device(any_imap_user)
    fill(phone, "INBOX", 4)
    account = account_for(any_imap_user)
    inbox = _synced(account)
    old = set(Message.objects.filter(folder=inbox).values_list("uid", flat=True))
    listener = subscribe(account.user_id)
    watching.keep_watching(account.id, inbox.id)

    # The newest message: Cyrus reads "*" as the highest UID left.
    newest = max(old)
    phone.select_folder("INBOX")
    phone.delete_messages([newest])
    phone.expunge()
    seen: list[dict] = []

    def wait(predicate):
        return listener.wait(lambda e: seen.append(e) or predicate(e), 30)

    wait(lambda e: e["type"] == "expunged" and newest in e["uids"])
    assert not Message.objects.filter(folder=inbox, uid=newest).exists()

    phone.append("INBOX", message_bytes("fresh"))
    event = wait(lambda e: e["type"] == "new")
    fresh = Message.objects.get(folder=inbox, uid__in=event["uids"])
    assert fresh.subject == "fresh"
    # Only the new message was announced, never the old ones again.
    announced = {uid for e in seen if e["type"] == "new" for uid in e["uids"]}
    assert announced == {fresh.uid}


@pytest.mark.parametrize(
    "kind",
    [
        "dovecot",
        pytest.param("courier", marks=[pytest.mark.slow, pytest.mark.other_servers]),
    ],
)
def test_the_user_picks_the_trash(worker, kind, request, make_imap_user, other_device):
    user = make_imap_user(server=request.getfixturevalue(kind))
    phone = other_device(user)
    bin_name = f"{_personal(phone)}Papierkorb"
    phone.create_folder(bin_name)
    phone.subscribe_folder(bin_name)
    fill(phone, "INBOX", 2)
    account = account_for(user)
    inbox = _synced(account)
    papierkorb = Folder.objects.get(account=account, name=bin_name)
    client = Client()
    client.force_login(account.user)
    page = client.get(reverse("mail_folders", args=[account.id])).content.decode()
    assert 'name="trash"' in page

    uses_url = reverse("mail_folder_uses", args=[account.id])
    assert client.post(uses_url, {"trash": "x1"}).status_code == 400
    answer = client.post(uses_url, {"trash": papierkorb.id})
    assert answer.status_code == 302
    # The server's (or the name's) Trash does not win it back.
    folderlist.sync_folder_list(account.id)
    uses = dict(
        Folder.objects.filter(account=account).values_list("name", "special_use")
    )
    assert uses[bin_name] == "\\Trash"
    assert uses[f"{_personal(phone)}Trash"] == ""

    uid = Message.objects.get(folder=inbox, subject="msg 0").uid
    _bulk(account, inbox, "delete", [uid])
    wait_for(lambda: _drained(account), what="outbox drained")
    assert _subjects_on_server(phone, bin_name) == ["msg 0"]
    assert _subjects_on_server(phone, f"{_personal(phone)}Trash") == []


@pytest.mark.slow
@pytest.mark.other_servers
def test_the_open_folder_follows_on_courier_whose_idle_does_not_push(
    worker, imap_user_courier, other_device, subscribe
):
    # Folder-list reads ten minutes apart, and Courier's IDLE says nothing
    # until its own 60-second poll: the open folder must still follow
    # within seconds (the watch checks it by STATUS).
    with restarted_with(worker, IMAP_POLL_INTERVAL="600", IMAP_INBOX_CHECK="2"):
        phone = other_device(imap_user_courier)
        fill(phone, "INBOX.Archive", 2)
        account = account_for(imap_user_courier)
        folderlist.sync_folder_list(account.id)
        archive = Folder.objects.get(account=account, name="INBOX.Archive")
        sync.sync_folder(account.id, archive.id)
        listener = subscribe(account.user_id)
        # Found by the sync the watcher starts with: then it idles.
        phone.append("INBOX.Archive", message_bytes("early"))
        watching.keep_watching(account.id, archive.id)
        listener.wait(lambda e: e["type"] == "new" and e["folder"] == archive.id, 20)
        # The syncs the watcher's start queued (its folder-list read finds
        # the folder changed) are over by then: only the watch is left.
        time.sleep(4)

        phone.append("INBOX.Archive", message_bytes("late"))
        event = listener.wait(
            lambda e: e["type"] == "new" and e["folder"] == archive.id, 20
        )
        assert Message.objects.get(folder=archive, uid__in=event["uids"]).subject == (
            "late"
        )
