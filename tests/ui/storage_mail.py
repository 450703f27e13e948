"""A real mailbox near its quota, for the storage tests (server and browser)."""

from __future__ import annotations

import uuid
from typing import Any

from webmail.engine import folderlist, sync
from webmail.models import Folder

KB = 1024


def padded(subject: str, kb: int, attachment: bool = False) -> bytes:
    """Return a message of about kb kilobytes, the bulk in an attachment or text."""
    head = (
        "From: Erin Big <erin@example.net>\r\nTo: someone@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@example.net>\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    )
    lines = (kb * KB) // 78
    if not attachment:
        body = ("y" * 76 + "\r\n") * lines
        return f"{head}Content-Type: text/plain\r\n\r\n{body}".encode()
    data = ("QUJD" * 19 + "\r\n") * lines
    return (
        f"{head}Content-Type: multipart/mixed; boundary=b1\r\n\r\n"
        "--b1\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n"
        "--b1\r\nContent-Type: application/octet-stream\r\n"
        'Content-Disposition: attachment; filename="data.bin"\r\n'
        f"Content-Transfer-Encoding: base64\r\n\r\n{data}--b1--\r\n"
    ).encode()


# (folder, subject, kilobytes, with an attachment): about 840 KB of a 1 MB
# quota, so past the meter's warning (80 %) and short of its alarm (95 %).
NEAR_FULL = (
    ("INBOX", "Big report", 300, True),
    ("INBOX", "Holiday photos", 220, True),
    ("INBOX", "Long minutes", 120, False),
    ("INBOX", "Short note", 1, False),
    ("Archive", "Old scan", 190, False),
)


def fill_near_quota(phone: Any) -> None:
    """APPEND NEAR_FULL as another client would."""
    for folder, subject, kb, attachment in NEAR_FULL:
        phone.append(folder, padded(subject, kb, attachment))


def server_quota_kb(phone: Any) -> tuple[int, int]:
    """Return (used, limit) of INBOX's storage quota, in KB, as the server says."""
    _, quotas = phone.get_quota_root("INBOX")
    storage = next(q for q in quotas if q.resource.upper() == "STORAGE")
    return int(storage.usage), int(storage.limit)


def server_sizes(phone: Any, folder: str) -> dict[str, int]:
    """Return {subject: RFC822.SIZE} of a folder's messages on the server."""
    phone.select_folder(folder, readonly=True)
    found = phone.fetch(phone.search(["ALL"]), ["RFC822.SIZE", "ENVELOPE"])
    return {
        data[b"ENVELOPE"].subject.decode(): int(data[b"RFC822.SIZE"])
        for data in found.values()
    }


def sync_all(account_id: int) -> dict[str, Folder]:
    """Sync the folder list, the quota and every folder in this process."""
    folderlist.sync_folder_list(account_id)
    folders = {}
    for folder in Folder.objects.filter(account_id=account_id, selectable=True):
        sync.sync_folder(account_id, folder.id)
        folder.refresh_from_db()
        folders[folder.name] = folder
    return folders
