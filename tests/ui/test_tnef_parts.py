"""Each file inside a winmail.dat downloads and previews on its own.

Outlook wraps attachments in one TNEF part; the reading pane lists the
files inside it, each with its own id ("2~1", "2~2", ...), through a real
Dovecot and worker.
"""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from django.test import Client

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    server_user,
    worker,
)
from tests.mime.builders import tnef
from tests.ui.conftest import make_user
from tests.ui.test_pdf_preview import (  # noqa: F401 (fixture)
    _patient_body_timeout,
    content,
    synced,
    tiny_pdf,
)
from webmail.shared import partlinks

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]

PDF = tiny_pdf("From Outlook")
FILES = [
    ("report.pdf", PDF),
    ("notes.txt", b"Numbers for Q3\r\n"),
    ("report.pdf", b"an older report"),
]


def outlook_mail(files: list[tuple[str, bytes]] = FILES) -> bytes:
    """A message from Outlook: a text part, then a winmail.dat (section 2)."""
    blob = tnef(files, body="Outlook body text")
    return (
        b"From: Outlook User <outlook@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"Subject: Report from Outlook\r\n"
        b"Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="t"\r\n\r\n'
        b"--t\r\nContent-Type: text/plain\r\n\r\nSee the report.\r\n"
        b'--t\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(blob).replace(b"\n", b"\r\n")
        + b"--t--\r\n"
    )


def test_part_ids_of_files_in_a_winmail_dat_round_trip():
    assert partlinks.tnef_part_id("2", 0) == "2~1"
    assert partlinks.tnef_part_id("1.3", 4) == "1.3~5"
    assert partlinks.split_part_id("1.3~5") == ("1.3", 4)
    assert partlinks.split_part_id("2") == ("2", None)
    for bad in ("2~0", "2~", "2~x", "2~-1"):
        with pytest.raises(ValueError):
            partlinks.split_part_id(bad)


def test_each_file_in_a_winmail_dat_downloads_with_its_own_bytes_and_name(
    server_user,  # noqa: F811 (the fixture)
    other_device,
):
    other_device(server_user).append("INBOX", outlook_mail())
    account, inbox, client = synced(server_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    page = client.get(base).content.decode()
    assert "Outlook body text" in client.get(f"{base}body").content.decode()
    for number, (name, _) in enumerate(FILES, 1):
        assert f'<a href="{base}part/2~{number}" download>{name}</a>' in page
    assert "winmail.dat" not in page

    for number, (name, data) in enumerate(FILES, 1):
        response = client.get(f"{base}part/2~{number}")
        assert response.status_code == 200, number
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response["X-Content-Type-Options"] == "nosniff"
        assert content(response) == data, number


def test_files_in_a_winmail_dat_preview_by_their_type(imap_user, other_device):
    other_device(imap_user).append("INBOX", outlook_mail())
    account, inbox, client = synced(imap_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    page = client.get(base).content.decode()
    assert f'href="{base}part/2~1?inline=1"' in page
    assert f'href="{base}part/2~2?inline=1"' in page

    pdf = client.get(f"{base}part/2~1?inline=1")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == 'inline; filename="report.pdf"'
    assert pdf["Content-Security-Policy"].startswith("sandbox;")
    assert content(pdf) == PDF
    text = client.get(f"{base}part/2~2?inline=1")
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text["Content-Disposition"] == 'inline; filename="notes.txt"'
    assert content(text) == b"Numbers for Q3\r\n"


def test_download_all_holds_each_file_of_a_winmail_dat(imap_user, other_device):
    other_device(imap_user).append("INBOX", outlook_mail())
    account, inbox, client = synced(imap_user)

    response = client.get(f"/mail/{account.id}/{inbox.id}/1/attachments.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(content(response)))
    assert archive.testzip() is None
    assert archive.namelist() == ["report.pdf", "notes.txt", "report (2).pdf"]
    assert [archive.read(n) for n in archive.namelist()] == [d for _, d in FILES]


def test_a_file_the_winmail_dat_does_not_have_is_not_found(imap_user, other_device):
    phone = other_device(imap_user)
    phone.append("INBOX", outlook_mail())
    account, inbox, client = synced(imap_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    missing = client.get(f"{base}part/2~4")
    assert missing.status_code == 404
    assert "no longer there" in missing.content.decode()
    # The text part is no winmail.dat.
    assert client.get(f"{base}part/1~1").status_code == 404
    for bad in ("2~0", "2~", "2~x", "2~1~1", "~1"):
        assert client.get(f"{base}part/{bad}").status_code == 404, bad


def test_other_users_get_404_for_files_in_a_winmail_dat(imap_user, other_device):
    other_device(imap_user).append("INBOX", outlook_mail())
    account, inbox, client = synced(imap_user)
    url = f"/mail/{account.id}/{inbox.id}/1/part/2~1"
    assert content(client.get(url)) == PDF

    for name in ("bob", "charlie"):
        other = Client()
        other.force_login(make_user(name))
        assert other.get(url).status_code == 404, name
        assert other.get(url + "?inline=1").status_code == 404, name
