"""Folders on a server whose own folders live under "INBOX." and that made
no special folders (Courier's layout): the top level is there, and the
missing special folders are made on demand and listed first."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import account_for, wait_for
from webmail.engine import folderlist
from webmail.mail import folders, reading
from webmail.models import Folder, PendingOperation
from webmail.views.present import folder_nodes

pytestmark = pytest.mark.django_db(transaction=True)


def _on_server(phone) -> dict[str, bool]:
    subscribed = {name for _, _, name in phone.list_sub_folders()}
    return {name: name in subscribed for _, _, name in phone.list_folders()}


def _drained(account) -> bool:
    return not PendingOperation.objects.filter(account=account, state="pending")


def test_new_folders_go_under_the_personal_namespace(
    worker, imap_user_prefixed, other_device
):
    phone = other_device(imap_user_prefixed)
    account = account_for(imap_user_prefixed)
    folderlist.sync_folder_list(account.id)

    work = folders.create_folder(account, "Work")
    folders.create_folder(account, "日本", parent_id=work.id)

    wait_for(lambda: "INBOX.Work.日本" in _on_server(phone), what="made under INBOX.")
    assert _on_server(phone)["INBOX.Work"]
    wait_for(lambda: _drained(account), what="outbox drained")
    moved = folders.rename_folder(account, work, "Jobs", parent_id=None)
    wait_for(lambda: "INBOX.Jobs.日本" in _on_server(phone), what="renamed there")
    assert moved.name == "INBOX.Jobs"


def test_missing_special_folders_are_made_and_listed_first(
    worker, imap_user_prefixed, other_device
):
    phone = other_device(imap_user_prefixed)
    phone.create_folder("INBOX.Aardvark")
    account = account_for(imap_user_prefixed)
    folderlist.sync_folder_list(account.id)
    client = Client()
    client.force_login(account.user)
    page = client.get(f"/mail/{account.id}/folders/").content.decode()
    assert "This mailbox has no Drafts, Sent, Trash, Junk, Archive folder yet." in page

    client.post(f"/mail/{account.id}/folders/special")

    for name in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
        wait_for(lambda n=name: _on_server(phone).get(f"INBOX.{n}"), what=name)
    wait_for(lambda: _drained(account), what="outbox drained")
    folderlist.sync_folder_list(account.id)
    # The server does not mark them (no SPECIAL-USE): their names do.
    trash = Folder.objects.get(account=account, name="INBOX.Trash")
    assert trash.special_use == "\\Trash"
    assert folders.missing_special_folders(account) == []
    titles = [node.label for node in folder_nodes(account.id, reading.folders(account))]
    assert titles == [
        "INBOX", "Drafts", "Sent", "Archive", "Junk", "Trash", "Aardvark",
    ]  # fmt: skip
