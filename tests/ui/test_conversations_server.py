"""A conversation spread over real IMAP folders, from Dovecot to the page and back."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from django.test import Client

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from webmail.engine import folderlist, sync
from webmail.models import Folder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]

ROOT = "<budget@example.net>"


def mail(subject: str, message_id: str, date: str, **headers: str) -> bytes:
    lines = {
        "From": "Carol <carol@example.net>",
        "To": "someone@example.org",
        "Subject": subject,
        "Message-ID": message_id,
        "Date": f"Sat, 28 Nov 2026 {date} +0000",
        **headers,
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in lines.items())
    return f"{head}\r\n{subject}, the text.\r\n".encode()


def seen_on_server(phone, folder: str, uid: int | None = None) -> Any:
    """Whether each message of the folder (or the one uid) has \\Seen."""
    phone.select_folder(folder, readonly=True)
    flags = phone.fetch(phone.search(["ALL"]), ["FLAGS"])
    seen = {n: b"\\Seen" in data[b"FLAGS"] for n, data in flags.items()}
    return seen if uid is None else seen.get(uid, False)


def test_a_thread_over_four_folders_is_one_line_and_opening_it_reads_three(
    imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.append("Archive", mail("Budget", ROOT, "08:00:00"))
    phone.append("INBOX", mail("Re: Budget", "<r1@example.net>", "09:00:00",
                               References=ROOT))  # fmt: skip
    phone.append("INBOX", mail("Lunch", "<lunch@example.net>", "09:30:00"))
    phone.append(
        "Sent",
        mail("Re: Budget", "<r2@example.org>", "10:00:00",
             References=f"{ROOT} <r1@example.net>", From=imap_user.address),
    )  # fmt: skip
    phone.append("Trash", mail("Re: Budget", "<r3@example.net>", "11:00:00",
                               References=ROOT))  # fmt: skip
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    folders = {}
    for name in ("INBOX", "Archive", "Sent", "Trash"):
        folders[name] = Folder.objects.get(account=account, name=name)
        sync.sync_folder(account.id, folders[name].id)
    inbox = folders["INBOX"]
    client = Client()
    client.force_login(account.user)

    page = client.get(f"/mail/{account.id}/{inbox.id}/?view=threads").content.decode()
    # Budget at the time of Alice's answer in Sent, above the later Lunch;
    # three messages (not the one in Trash), the newest from "me".
    assert re.findall(r'<li id="t(\d+)" class="([^"]+)"', page) == [
        ("1", "row thread unread"),
        ("2", "row thread unread"),
    ]
    budget = page.split('id="t1"')[1].split("</li>")[0]
    assert '<span class="from">me <span class="thread-count"' in budget
    assert 'title="3 messages">3</span>' in budget

    opened = client.get(f"/mail/{account.id}/{inbox.id}/1/thread").content.decode()
    assert "3 messages" in opened
    for name in ("INBOX", "Archive", "Sent"):
        wait_for(partial(seen_on_server, phone, name, 1), what=f"\\Seen in {name}")
    assert seen_on_server(phone, "INBOX") == {1: True, 2: False}
    assert seen_on_server(phone, "Trash") == {1: False}
