"""Acting on the messages of an open conversation, checked on a real Dovecot.

Each message of a thread has its own star, read, archive, move and delete;
the worker applies them through the outbox, and a second IMAP connection
(the phone) sees the result on the server.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import PASSWORD
from tests.ui.test_conversations_server import ROOT, mail
from webmail.engine import folderlist, sync
from webmail.models import Folder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]


def flags_on_server(phone, folder: str) -> dict[str, set[bytes]]:
    """The flags of each message of a folder on the server, by subject."""
    phone.select_folder(folder, readonly=True)
    found = phone.fetch(phone.search(["ALL"]), ["FLAGS", "ENVELOPE"])
    return {
        data[b"ENVELOPE"].subject.decode(): set(data[b"FLAGS"])
        for data in found.values()
    }


@pytest.fixture
def thread(imap_user: ImapUser, other_device):
    """A thread of three: two in INBOX, the user's answer in Sent."""
    phone = other_device(imap_user)
    phone.append("INBOX", mail("Budget", ROOT, "08:00:00"))
    phone.append("INBOX", mail("Re: Budget", "<r1@example.net>", "09:00:00",
                               References=ROOT))  # fmt: skip
    phone.append(
        "Sent",
        mail("Re: Re: Budget", "<r2@example.org>", "10:00:00",
             References=f"{ROOT} <r1@example.net>", From=imap_user.address),
    )  # fmt: skip
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    folders = {}
    for name in ("INBOX", "Sent", "Archive", "Trash"):
        folders[name] = Folder.objects.get(account=account, name=name)
        sync.sync_folder(account.id, folders[name].id)
    client = Client()
    client.force_login(account.user)
    return phone, account, folders, client


def act(client: Client, account, folder: Folder, uid: int, inbox: Folder, **data):
    url = f"/mail/{account.id}/{folder.id}/{uid}/thread/act"
    return client.post(url, {"in": inbox.id, **data}, HTTP_HX_REQUEST="true")


def test_star_and_read_marks_from_a_conversation_reach_the_server(thread):
    phone, account, folders, client = thread
    inbox, sent = folders["INBOX"], folders["Sent"]
    opened = client.get(f"/mail/{account.id}/{inbox.id}/2/thread").content.decode()
    # Every message of the thread has its own actions, the one in Sent too.
    assert len(re.findall(r'action="[^"]+/thread/act"', opened)) >= 3 * 5
    assert f'action="/mail/{account.id}/{sent.id}/1/thread/act"' in opened

    answer = act(client, account, sent, 1, inbox, do="star")
    assert answer.status_code == 200
    assert "Starred." in answer.content.decode()
    wait_for(
        lambda: b"\\Flagged" in flags_on_server(phone, "Sent")["Re: Re: Budget"],
        what="the answer in Sent starred on the server",
    )
    act(client, account, inbox, 1, inbox, do="unread")
    wait_for(
        lambda: b"\\Seen" not in flags_on_server(phone, "INBOX")["Budget"],
        what="Budget unread on the server",
    )
    act(client, account, inbox, 1, inbox, do="read")
    wait_for(
        lambda: b"\\Seen" in flags_on_server(phone, "INBOX")["Budget"],
        what="Budget read on the server",
    )
    page = act(client, account, sent, 1, inbox, do="unstar").content.decode()
    # The conversation shown again offers to star it once more.
    assert re.search(r'name="do" value="star"', page)
    wait_for(
        lambda: b"\\Flagged" not in flags_on_server(phone, "Sent")["Re: Re: Budget"],
        what="the star taken off on the server",
    )


def test_archive_move_and_delete_from_a_conversation_reach_the_server(thread):
    phone, account, folders, client = thread
    inbox, sent = folders["INBOX"], folders["Sent"]
    answer = act(client, account, inbox, 1, inbox, do="archive").content.decode()
    assert "Archived." in answer
    wait_for(
        lambda: "Budget" in flags_on_server(phone, "Archive"),
        what="Budget in Archive on the server",
    )
    assert "Budget" not in flags_on_server(phone, "INBOX")

    target = folders["Archive"].id
    answer = act(client, account, sent, 1, inbox, do="move", target=target)
    assert "Moved to Archive." in answer.content.decode()
    wait_for(
        lambda: "Re: Re: Budget" in flags_on_server(phone, "Archive"),
        what="the answer moved from Sent to Archive on the server",
    )
    assert flags_on_server(phone, "Sent") == {}

    # The last of the thread in INBOX goes: the answer is the list again.
    last = act(client, account, inbox, 2, inbox, do="delete")
    assert last["HX-Retarget"] == "#app"
    assert "Moved to the trash." in last.content.decode()
    wait_for(
        lambda: "Re: Budget" in flags_on_server(phone, "Trash"),
        what="Re: Budget in Trash on the server",
    )
    assert flags_on_server(phone, "INBOX") == {}


def test_deleting_for_good_from_a_conversation_needs_the_confirmation(thread):
    phone, account, folders, client = thread
    inbox, trash = folders["INBOX"], folders["Trash"]
    act(client, account, inbox, 2, inbox, do="delete")
    wait_for(lambda: "Re: Budget" in flags_on_server(phone, "Trash"), what="Trash")
    sync.sync_folder(account.id, trash.id)
    uid = trash.messages.get().uid
    refused = act(client, account, trash, uid, trash, do="delete")
    assert refused.status_code == 400
    assert "confirm" in refused.content.decode()
    assert "Re: Budget" in flags_on_server(phone, "Trash")
    act(client, account, trash, uid, trash, do="delete", confirm="1")
    wait_for(lambda: flags_on_server(phone, "Trash") == {}, what="gone for good")
    # Bad input says what is wrong and changes nothing.
    odd = act(client, account, inbox, 1, inbox, do="explode")
    assert odd.status_code == 400
    assert "Budget" in flags_on_server(phone, "INBOX")


@pytest.mark.browser
def test_a_star_clicked_in_a_conversation_in_chromium_reaches_the_server(
    live_app: str, page: Page, thread
):
    phone, account, folders, _client = thread
    inbox = folders["INBOX"]
    account.user.set_password(PASSWORD)
    account.user.save()
    page.goto(f"{live_app}/accounts/login/")
    page.fill('input[name="username"]', account.user.username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page.locator("#list .row")).to_have_count(2)
    page.goto(f"{live_app}/mail/{account.id}/{inbox.id}/2/thread")
    answer = page.locator('#reader .conversation-message:has(.in-folder:text("Sent"))')
    expect(answer).to_have_count(1)
    if answer.get_attribute("open") is None:
        answer.locator("summary").click()
    answer.locator('[data-action="thread-star"]').click()
    expect(page.locator("#bulk-status")).to_have_text("Starred.")
    starred = page.locator('#reader .conversation-message:has(.in-folder:text("Sent"))')
    expect(starred.locator('[data-action="thread-star"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    wait_for(
        lambda: b"\\Flagged" in flags_on_server(phone, "Sent")["Re: Re: Budget"],
        what="the star clicked in Chromium on the server",
    )
