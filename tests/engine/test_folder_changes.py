"""Folders made, renamed, moved, deleted and subscribed in the webmail reach the
server through the outbox; the phone (a second IMAP connection) sees them."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import account_for, fill, wait_for
from webmail.engine import folderlist, sync
from webmail.mail import folders
from webmail.models import Folder, Message, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def _ready(account) -> dict[str, Folder]:
    folderlist.sync_folder_list(account.id)
    return {f.name: f for f in Folder.objects.filter(account=account)}


def _on_server(phone) -> dict[str, bool]:
    """Return {decoded folder name: subscribed} as the phone lists them."""
    subscribed = {name for _, _, name in phone.list_sub_folders()}
    return {name: name in subscribed for _, _, name in phone.list_folders()}


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(account=account, state="pending")


def test_a_nested_japanese_folder_is_made_on_the_server(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    account = account_for(server_user)
    _ready(account)
    delimiter = server_user.server.delimiter

    projects = folders.create_folder(account, "Projects")
    nested = folders.create_folder(account, "日本語 & more", parent_id=projects.id)

    # In the tree at once, before the server has it.
    assert nested.path == ["Projects", "日本語 & more"]
    assert nested.parent_id == projects.id
    wanted = f"Projects{delimiter}日本語 & more"
    wait_for(lambda: _on_server(phone).get(wanted), what="created and subscribed")
    assert _on_server(phone)["Projects"]
    # The name stored is the one the server lists (modified UTF-7), so the
    # worker's list sync keeps the same rows.
    wait_for(lambda: _drained(account), what="outbox drained")
    folderlist.sync_folder_list(account.id)
    nested.refresh_from_db()
    assert nested.display_name == "日本語 & more"
    assert nested.name == f"Projects{delimiter}&ZeVnLIqe- &- more"


def test_a_renamed_and_moved_folder_keeps_its_messages(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    phone.create_folder("Old")
    phone.subscribe_folder("Old")
    phone.create_folder("Projects")
    fill(phone, "Old", 2)
    account = account_for(server_user)
    rows = _ready(account)
    sync.sync_folder(account.id, rows["Old"].id)
    delimiter = server_user.server.delimiter

    moved = folders.rename_folder(
        account, rows["Old"], "Récent", parent_id=rows["Projects"].id
    )

    assert moved.id == rows["Old"].id and moved.display_name == "Récent"
    wanted = f"Projects{delimiter}Récent"
    wait_for(lambda: wanted in _on_server(phone), what="renamed on the server")
    assert "Old" not in _on_server(phone)
    assert _on_server(phone)[wanted], "the subscription follows the folder"
    phone.select_folder(wanted, readonly=True)
    assert len(phone.search(["ALL"])) == 2
    wait_for(lambda: _drained(account), what="outbox drained")
    folderlist.sync_folder_list(account.id)
    assert Folder.objects.get(id=moved.id).path == ["Projects", "Récent"]
    assert Message.objects.filter(folder_id=moved.id).count() == 2


def test_a_folder_is_deleted_with_its_subfolders_and_messages(
    worker, server_user, other_device
):
    phone = other_device(server_user)
    delimiter = server_user.server.delimiter
    phone.create_folder("Old")
    phone.create_folder(f"Old{delimiter}Older")
    fill(phone, "Old", 2)
    fill(phone, f"Old{delimiter}Older", 1)
    account = account_for(server_user)
    rows = _ready(account)

    assert folders.messages_in(rows["Old"]) == 3
    assert folders.delete_folder(account, rows["Old"]) == 3

    assert not Folder.objects.filter(account=account, name__startswith="Old")
    wait_for(lambda: "Old" not in _on_server(phone), what="deleted on the server")
    assert f"Old{delimiter}Older" not in _on_server(phone)


def test_subscriptions_reach_the_server_and_the_other_tabs(
    worker, server_user, other_device, subscribe
):
    phone = other_device(server_user)
    phone.create_folder("Lists")
    account = account_for(server_user)
    rows = _ready(account)
    assert not rows["Lists"].subscribed
    tabs = subscribe(account.user_id)

    folders.set_subscribed(account, rows["Lists"], True)
    tabs.wait(lambda e: e["type"] == "folders")
    wait_for(lambda: _on_server(phone)["Lists"], what="subscribed")
    folders.set_subscribed(account, rows["Lists"], False)
    wait_for(lambda: not _on_server(phone)["Lists"], what="unsubscribed")


def test_a_folder_the_server_refuses_leaves_the_tree_and_is_reported(
    worker, imap_user, other_device, subscribe
):
    phone = other_device(imap_user)
    account = account_for(imap_user)
    _ready(account)
    events = subscribe(account.user_id)
    # Dovecot refuses names that start with "~" (a home directory).
    folders.create_folder(account, "~bad")
    folders.create_folder(account, "~日本")

    event = events.wait(lambda e: e["type"] == "outbox")
    assert event["failed"]
    wait_for(
        lambda: not Folder.objects.filter(account=account, display_name="~bad"),
        what="the tree as the server has it",
    )
    assert "~bad" not in _on_server(phone)
    # The list page says what was refused.
    client = Client()
    client.force_login(account.user)
    page = client.get(f"/mail/{account.id}/", follow=True).content.decode()
    assert "The server refused a change to the folder ~bad." in page
    assert "The server refused a change to the folder ~日本." in page


@pytest.mark.parametrize(
    ("name", "code"),
    [("", "empty"), ("  ", "empty"), ("a/b", "delimiter"), ("Sent", "exists")],
)
def test_bad_names_are_refused_and_nothing_is_recorded(imap_user, name, code):
    account = account_for(imap_user)
    rows = _ready(account)
    with pytest.raises(folders.BadFolderName) as refused:
        folders.create_folder(account, name)
    assert refused.value.code == code
    with pytest.raises(folders.BadFolderName):
        folders.rename_folder(account, rows["Trash"], name, parent_id=None)
    assert not PendingOperation.objects.filter(account=account)


def test_inbox_stays_and_a_folder_cannot_go_into_itself(imap_user, other_device):
    phone = other_device(imap_user)
    phone.create_folder("Outer")
    phone.create_folder("Outer/Inner")
    account = account_for(imap_user)
    rows = _ready(account)

    for attempt in (
        lambda: folders.delete_folder(account, rows["INBOX"]),
        lambda: folders.rename_folder(account, rows["INBOX"], "Inbox2", None),
    ):
        with pytest.raises(folders.BadFolderName) as refused:
            attempt()
        assert refused.value.code == "inbox"
    for target in ("Outer", "Outer/Inner"):
        with pytest.raises(folders.BadFolderName) as refused:
            folders.rename_folder(account, rows["Outer"], "Outer", rows[target].id)
        assert refused.value.code == "into_itself"
    assert not PendingOperation.objects.filter(account=account)
