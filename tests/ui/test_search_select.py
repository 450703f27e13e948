"""Selecting search results and acting on them, across folders.

The searches run in the real worker against a real Dovecot, and a second
IMAP connection (the phone) checks what the server ends up holding.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import pytest
from django.test import Client

from accounts.models import MailAccount, User
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.engine.test_search import mail, put, ready
from tests.ui.mail import account_of, add_message, standard_mailbox
from webmail.engine import backfill
from webmail.mail import bulk
from webmail.mailgen import generate_maildir, index_mailbox
from webmail.models import Folder, Message, OperationKind, PendingOperation

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}


def bulk_url(account: MailAccount) -> str:
    return f"/mail/{account.id}/search/bulk"


def status(response) -> str:
    found = re.search(
        r'<div id="bulk-status"[^>]*><span class="notice-text">([^<]*)</span>',
        response.content.decode(),
    )
    assert found is not None
    return found.group(1)


def picks(html: str) -> dict[str, str]:
    """Return subject -> the value of its row's checkbox (a message id)."""
    found = re.findall(
        r'name="message" value="(\d+)" form="bulk" data-pick>'
        r'<span class="visually-hidden">Select: ([^<]*)</span>',
        html,
    )
    return {subject: value for value, subject in found}


def subjects_in(phone, folder: str) -> list[str]:
    """Return the subjects of a folder's messages as the server holds them."""
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    data = phone.fetch(uids, ["ENVELOPE"]) if uids else {}
    return sorted(
        str(make_header(decode_header(item[b"ENVELOPE"].subject.decode())))
        for item in data.values()
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_moving_results_of_two_folders_moves_both_on_the_server(
    imap_user, other_device, client: Client
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    put(phone, "INBOX", mail("Tea order", "persimmon tea"), day=22)
    put(phone, "Projects", mail("Budget", "persimmon budget"), day=21)
    put(phone, "INBOX", mail("Lunch", "Soup today."), day=20)
    account = account_for(imap_user)
    folders = ready(account, "Projects", "Archive")
    client.force_login(account.user)

    search = f"/mail/{account.id}/search?q=persimmon&folder=all"
    page = client.get(search).content.decode()
    ids = picks(page)
    assert sorted(ids) == ["Budget", "Tea order"]
    assert f'action="{bulk_url(account)}"' in page
    # Every result fits on the page, so "all results" is not offered.
    assert "data-offer" not in page

    response = client.post(
        bulk_url(account),
        {
            "action": "move",
            "message": list(ids.values()),
            "target": folders["Archive"].id,
            "back": search,
        },
        **HTMX,
    )
    assert status(response) == "2 messages moved to Archive."
    # The results shown again (without searching again) no longer hold them.
    assert picks(response.content.decode()) == {}
    operations = PendingOperation.objects.filter(kind=OperationKind.MOVE)
    assert sorted(operations.values_list("folder__name", "uids")) == [
        ("INBOX", [1]),
        ("Projects", [1]),
    ]
    wait_for(
        lambda: len(subjects_in(phone, "Archive")) == 2,
        timeout=30,
        what="both results in Archive on the server",
    )
    assert subjects_in(phone, "Archive") == ["Budget", "Tea order"]
    assert subjects_in(phone, "Projects") == []
    assert subjects_in(phone, "INBOX") == ["Lunch"]
    assert not Message.objects.filter(folder=folders["INBOX"], uid=1).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_deleting_all_results_reaches_those_beyond_the_first_page(
    imap_user, other_device, client: Client
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    for n in range(56):
        folder = "INBOX" if n % 2 else "Projects"
        put(phone, folder, mail(f"Kiwi {n}", "fruit"), day=1 + n % 28)
    put(phone, "INBOX", mail("Lunch", "Soup today."))
    account = account_for(imap_user)
    folders = ready(account, "Projects", "Trash")
    client.force_login(account.user)

    search = f"/mail/{account.id}/search?q=kiwi&folder=all&field=subject"
    page = client.get(search).content.decode()
    assert len(picks(page)) == 50
    assert "Select all 56 results of this search" in page
    response = client.post(
        bulk_url(account), {"action": "delete", "all": "1", "back": search}, **HTMX
    )
    assert status(response) == "56 messages deleted."
    assert picks(response.content.decode()) == {}
    assert not Message.objects.filter(subject__startswith="Kiwi").exists()
    assert Message.objects.filter(folder=folders["INBOX"]).count() == 1
    wait_for(
        lambda: len(subjects_in(phone, "Trash")) == 56,
        timeout=60,
        what="every result in Trash on the server",
    )
    assert subjects_in(phone, "Projects") == []
    assert subjects_in(phone, "INBOX") == ["Lunch"]


def test_another_users_ids_have_no_effect(alice: User, bob: User):
    mine = standard_mailbox(alice)
    theirs = standard_mailbox(bob)
    account = account_of(alice)
    beta = mine["Projects/Beta"]
    add_message(beta, 7, "Beta notes", seen=False)
    own = [
        Message.objects.get(folder=mine["INBOX"], uid=2).id,
        Message.objects.get(folder=beta, uid=7).id,
    ]
    bobs = [Message.objects.get(folder=theirs["INBOX"], uid=u).id for u in (2, 4)]
    client = Client()
    client.force_login(alice)

    response = client.post(
        bulk_url(account), {"action": "read", "message": own + bobs}, **HTMX
    )
    assert status(response) == "2 messages marked read."
    assert Message.objects.get(id=own[0]).seen and Message.objects.get(id=own[1]).seen
    assert not Message.objects.filter(id__in=bobs, seen=True).exists()
    operations = PendingOperation.objects.all()
    assert sorted(operations.values_list("folder_id", "uids")) == sorted(
        [(mine["INBOX"].id, [2]), (beta.id, [7])]
    )
    assert {op.account_id for op in operations} == {account.id}

    # Only his ids: nothing at all happens, whatever the action.
    for data in (
        {"action": "read"},
        {"action": "star"},
        {"action": "unstar"},
        {"action": "move", "target": mine["Archive"].id},
        {"action": "delete"},
    ):
        response = client.post(bulk_url(account), {**data, "message": bobs}, **HTMX)
        assert status(response) == "No messages needed changing.", data
    his = dict(Message.objects.filter(id__in=bobs).values_list("uid", "folder_id"))
    assert his == {2: theirs["INBOX"].id, 4: theirs["INBOX"].id}
    assert dict(Message.objects.filter(id__in=bobs).values_list("uid", "flagged")) == {
        2: True,
        4: False,
    }
    assert not Message.objects.filter(id__in=bobs, seen=True).exists()
    assert PendingOperation.objects.count() == 2
    assert bulk.apply_to_ids(account, bobs, "delete") == 0

    # "All results" of a search in his folder is a 404, like his folder's id;
    # a selection that names no search is refused.
    in_his_folder = f"/mail/{account.id}/search?q=x&folder={theirs['INBOX'].id}"
    refused = client.post(
        bulk_url(account), {"action": "read", "all": "1", "back": in_his_folder}
    )
    assert refused.status_code == 404
    response = client.post(
        bulk_url(account), {"action": "read", "all": "1", "back": "/elsewhere"}, **HTMX
    )
    assert status(response) == (
        "The selection could not be read. Reload the page and try again."
    )
    assert PendingOperation.objects.count() == 2
    assert Folder.objects.get(id=theirs["INBOX"].id).unseen == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_moving_every_one_of_5000_search_results_reaches_the_server(
    imap_user, other_device, client: Client
):
    server = imap_user.server
    maildir = server.maildir(imap_user.username)
    stats = generate_maildir(maildir, count=5000, seed=5, inbox_share=1.0)
    server.chown_mail(maildir.parent)
    index_mailbox(server.doveadm, imap_user.username)
    in_inbox = stats.folders["INBOX"].messages
    archived = stats.folders["Archive"].messages if "Archive" in stats.folders else 0
    account = account_for(imap_user)
    folders = ready(account, "Archive")
    inbox = folders["INBOX"]
    while not inbox.complete:  # the first sync loaded the newest only
        backfill.backfill_folder(account.id, inbox.id)
        inbox.refresh_from_db()
    client.force_login(account.user)

    # Every message of INBOX since 1990: far more than a page shows.
    search = f"/mail/{account.id}/search?folder={inbox.id}&since=1990-01-01"
    page = client.get(search).content.decode()
    assert f"Select all {in_inbox} results of this search" in page
    response = client.post(
        bulk_url(account),
        {"action": "move", "target": folders["Archive"].id, "all": "1", "back": search},
        **HTMX,
    )

    assert status(response) == f"{in_inbox} messages moved to Archive."
    assert not Message.objects.filter(folder=inbox).exists()
    phone = other_device(imap_user)

    def on_server() -> bool:
        moved = phone.folder_status("Archive", [b"MESSAGES"])[b"MESSAGES"]
        left = phone.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
        return moved == archived + in_inbox and left == 0

    wait_for(on_server, timeout=120, what=f"all {in_inbox} in Archive on the server")
