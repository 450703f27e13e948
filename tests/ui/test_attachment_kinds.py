"""Attachments named by kind, and a calendar invitation's facts above the text.

Through a real Dovecot and worker: the mail is appended by "the phone",
synced, and the reading pane asked for as a browser would.
"""

from __future__ import annotations

import html
import re
from email.message import EmailMessage

import pytest

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.ui.conftest import ImageServer
from tests.ui.test_pdf_preview import (  # noqa: F401 (fixture)
    _patient_body_timeout,
    mail,
    synced,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]


@pytest.fixture(autouse=True)
def _whole_page(settings) -> None:
    # What the pane shows is the point here, not how long a page waits for
    # the worker before it asks again (tests/ui/test_slow_body_browser.py).
    settings.BODY_PAGE_WAIT_MS = 20_000


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILES = [
    ("report.pdf", "application/pdf", b"%PDF-1.4 report"),
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff photo"),
    ("figures.xlsx", XLSX, b"PK figures"),
    ("letter.docx", DOCX, b"PK letter"),
    ("photos.zip", "application/zip", b"PK photos"),
    # The name tells what the type does not.
    ("budget.xlsx", "application/octet-stream", b"PK budget"),
    ("blob.bin", "application/octet-stream", b"blob"),
]


def kinds(page: str) -> list[tuple[str, str]]:
    """Return the kinds the attachment list shows: (word, tooltip)."""
    found = re.findall(r'<span class="size type" title="([^"]*)">([^<]*)</span>', page)
    return [(html.unescape(word), html.unescape(title)) for title, word in found]


def test_attachment_types_read_as_words_with_the_type_in_a_tooltip(
    imap_user, other_device
):
    other_device(imap_user).append("INBOX", mail("Files", FILES))
    account, inbox, client = synced(imap_user)
    url = f"/mail/{account.id}/{inbox.id}/1/"

    english = kinds(client.get(url).content.decode())
    japanese = kinds(client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode())

    assert english == [
        ("PDF", "application/pdf"),
        ("Image", "image/jpeg"),
        ("Spreadsheet", XLSX),
        ("Word document", DOCX),
        ("Archive", "application/zip"),
        ("Spreadsheet", "application/octet-stream"),
        ("File", "application/octet-stream"),
    ]
    assert [word for word, _ in japanese] == [
        "PDF",
        "画像",
        "表計算",
        "Word 文書",
        "圧縮ファイル",
        "表計算",
        "ファイル",
    ]


def invitation(*lines: str, method: str = "REQUEST") -> bytes:
    return "\r\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example//Calendar//EN",
            f"METHOD:{method}",
            "BEGIN:VEVENT",
            "UID:planning-1@example.net",
            *lines,
            "END:VEVENT",
            "END:VCALENDAR",
            "",
        ]
    ).encode()


MEETING = invitation(
    "SUMMARY:Planning\\, second round",
    "DTSTART;TZID=Asia/Tokyo:20261210T100000",
    "DTEND;TZID=Asia/Tokyo:20261210T113000",
    "LOCATION:Room 4\\, Osaka office",
    'ORGANIZER;CN="Dana Sender":mailto:dana@example.net',
    "ATTENDEE;CN=Alice:mailto:alice@example.org",
)


def invited(
    subject: str, calendar: bytes, before: tuple[str, str, bytes] | None = None
) -> bytes:
    """A message as calendars send invitations: text, then the .ics
    (after the file before, if given)."""
    msg = EmailMessage()
    msg["From"] = "Dana Sender <dana@example.net>"
    msg["To"] = "alice@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg.set_content("You are invited.\n")
    if before:
        name, content_type, data = before
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    msg.add_attachment(
        calendar, maintype="text", subtype="calendar", filename="invite.ics",
        params={"method": "REQUEST"},
    )  # fmt: skip
    return msg.as_bytes()


def invitation_box(page: str) -> str:
    found = re.search(r'<section class="invitation[^"]*".*?</section>', page, re.S)
    assert found, "no invitation shown"
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", found[0])))


def test_an_invitation_shows_its_time_place_and_organizer(
    imap_user, other_device, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    other_device(imap_user).append("INBOX", invited("Planning", MEETING))
    account, inbox, client = synced(imap_user)
    url = f"/mail/{account.id}/{inbox.id}/1/"

    page = client.get(url).content.decode()

    box = invitation_box(page)
    assert "Calendar invitation: Planning, second round" in box
    assert "When Dec. 10, 2026, 10 a.m.\N{EN DASH}11:30 a.m." in box
    assert "Where Room 4, Osaka office" in box
    assert "Organizer Dana Sender <dana@example.net>" in box
    # Above the text; the file is still there to download.
    assert page.index('class="invitation') < page.index('<iframe class="body"')
    assert ("Calendar invitation", "text/calendar") in kinds(page)
    japanese = invitation_box(
        client.get(url, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    )
    assert "カレンダーの招待: Planning, second round" in japanese
    assert "日時 2026年12月10日10:00\N{EN DASH}11:30" in japanese


def test_a_broken_invitation_says_so_and_runs_nothing(
    imap_user, other_device, image_server: ImageServer
):
    hook = image_server.url("/fetched")
    broken = invitation(
        "SUMMARY:Sync",
        "DTSTART:not a date",
        f"ATTACH;VALUE=URI:{hook}",
        f"URL:{hook}",
        "BEGIN:VALARM",
        "ACTION:PROCEDURE",
        f"ATTACH:{hook}",
        "END:VALARM",
    )
    device = other_device(imap_user)
    device.append("INBOX", invited("Sync", broken))
    device.append("INBOX", invited("Garbage", b"\x00\xffnot a calendar at all"))
    account, inbox, client = synced(imap_user)

    for uid in (1, 2):
        page = client.get(f"/mail/{account.id}/{inbox.id}/{uid}/").content.decode()
        box = invitation_box(page)
        assert "This calendar invitation could not be read." in box
        assert "When" not in box
        assert ("Calendar invitation", "text/calendar") in kinds(page)
    assert image_server.requests == []


def test_an_invitation_in_a_large_message_is_read_too(imap_user, other_device):
    # Over 2 MB: the worker fetches the text and the invitation, not the PDF.
    slides = ("slides.pdf", "application/pdf", b"%PDF" * 700_000)
    other_device(imap_user).append("INBOX", invited("Offsite", MEETING, slides))
    account, inbox, client = synced(imap_user)

    page = client.get(f"/mail/{account.id}/{inbox.id}/1/").content.decode()

    assert "Where Room 4, Osaka office" in invitation_box(page)
    assert ("PDF", "application/pdf") in kinds(page)
