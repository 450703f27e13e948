"""The folder page: what the user does there reaches the server (seen by the
phone), and a refused name is explained without losing what was typed."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    fill,
    wait_for,
    worker,
)
from webmail.engine import folderlist
from webmail.models import Folder, PendingOperation

pytestmark = pytest.mark.django_db(transaction=True)


def _client(account) -> Client:
    client = Client()
    client.force_login(account.user)
    return client


def _folder(account, name: str) -> Folder:
    return Folder.objects.get(account=account, name=name)


def _on_server(phone) -> dict[str, bool]:
    subscribed = {name for _, _, name in phone.list_sub_folders()}
    return {name: name in subscribed for _, _, name in phone.list_folders()}


@pytest.mark.usefixtures("worker")
def test_folders_are_made_renamed_and_deleted_from_the_page(imap_user, other_device):
    phone = other_device(imap_user)
    phone.create_folder("Reports")
    phone.create_folder("Lists")
    phone.subscribe_folder("Lists")
    fill(phone, "Reports", 3)
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    client = _client(account)
    base = f"/mail/{account.id}/folders/"

    page = client.get(base).content.decode()
    assert "Reports" in page and "Trash" in page

    reports = _folder(account, "Reports")
    answer = client.post(base + "new", {"name": "2026年", "parent": reports.id})
    assert answer.status_code == 302
    assert "2026年" in client.get(base).content.decode()
    wait_for(lambda: "Reports/2026年" in _on_server(phone), what="made on the server")

    answer = client.post(
        f"{base}{reports.id}/rename", {"name": "Old reports", "parent": ""}
    )
    assert answer.status_code == 302
    wait_for(lambda: "Old reports/2026年" in _on_server(phone), what="renamed")
    assert "Reports" not in _on_server(phone)

    confirm = client.get(f"{base}{reports.id}/delete").content.decode()
    assert "3 messages will be deleted" in confirm
    assert "subfolder goes too" in confirm
    assert client.post(f"{base}{reports.id}/delete").status_code == 302
    wait_for(lambda: "Old reports" not in _on_server(phone), what="deleted")

    lists = _folder(account, "Lists")
    client.post(f"{base}{lists.id}/subscribe", {"subscribed": "0"})
    wait_for(lambda: not _on_server(phone)["Lists"], what="unsubscribed")
    assert "Subscribe</button>" in client.get(base).content.decode()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Trash", "A folder with this name exists already there."),
        ("", "Type a name for the folder."),
        ("a/b", "A folder name cannot contain the character “/”."),
    ],
)
def test_a_refused_name_says_why_and_keeps_what_was_typed(imap_user, name, says):
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    client = _client(account)

    answer = client.post(f"/mail/{account.id}/folders/new", {"name": name})

    assert answer.status_code == 400
    page = answer.content.decode()
    assert says in page
    assert f'name="name" value="{name}"' in page
    assert not PendingOperation.objects.filter(account=account)


def test_inbox_and_moves_into_itself_are_refused(imap_user, other_device):
    phone = other_device(imap_user)
    phone.create_folder("Outer")
    phone.create_folder("Outer/Inner")
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    client = _client(account)
    base = f"/mail/{account.id}/folders/"
    inbox, outer = _folder(account, "INBOX"), _folder(account, "Outer")
    inner = _folder(account, "Outer/Inner")

    answer = client.post(f"{base}{inbox.id}/delete")
    assert answer.status_code == 400
    assert "The inbox cannot be renamed" in answer.content.decode()
    answer = client.post(
        f"{base}{outer.id}/rename", {"name": "Outer", "parent": inner.id}
    )
    assert answer.status_code == 400
    assert "cannot be moved into itself" in answer.content.decode()
    assert not PendingOperation.objects.filter(account=account)
    assert Folder.objects.filter(account=account, name="INBOX").exists()


def test_the_sidebar_lists_subscribed_folders_and_the_folder_page_all(
    imap_user, other_device
):
    phone = other_device(imap_user)
    phone.create_folder("Hidden")
    phone.create_folder("Shown")
    phone.subscribe_folder("Shown")
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    client = _client(account)
    hidden = _folder(account, "Hidden")

    page = client.get(f"/mail/{account.id}/", follow=True).content.decode()
    sidebar = page[
        page.index('id="folders"') : page.index("</nav>", page.index('id="folders"'))
    ]
    assert "Shown" in sidebar and "Hidden" not in sidebar
    assert "Hidden" in client.get(f"/mail/{account.id}/folders/").content.decode()
    # Opened anyway (a bookmark), it shows while open.
    page = client.get(f"/mail/{account.id}/{hidden.id}/").content.decode()
    assert 'class="name">Hidden<' in page
