"""PDF attachments preview in the browser, from this site, under a sandbox.

Through a real Dovecot and worker: the headers a browser acts on and the
bytes it gets. Chromium itself is in test_pdf_preview_browser.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any, TypeVar

import pytest
from django.test import AsyncClient, Client

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.engine.test_parts import _stream_measured
from webmail.engine import folderlist, sync
from webmail.models import Folder

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]


def tiny_pdf(text: str = "Hello PDF", extra: bytes = b"") -> bytes:
    """Return a valid one-page PDF; ``extra`` goes in an unused stream."""
    content = f"BT /F1 24 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] "
        b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(extra) + extra + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


PDF = tiny_pdf()
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _patient_body_timeout(settings) -> None:
    # These tests wait on the real worker (tests/ui/conftest.py sets 2 s).
    settings.BODY_FETCH_TIMEOUT = 20


def mail(subject: str, files: list[tuple[str, str, bytes]]) -> bytes:
    """A message with a text body and files of (name, content type, bytes)."""
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg.set_content("See the files.\n")
    for name, content_type, data in files:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def synced(imap_user):
    """A webmail account on the mailbox, INBOX in the cache, a signed-in client."""
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    client = Client()
    client.force_login(account.user)
    return account, inbox, client


def in_own_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on an event loop of its own thread.

    Once a browser test has run, Playwright's loop holds this thread, where
    async_to_sync refuses to run.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


def content(response) -> bytes:
    """Read a streamed response."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return in_own_loop(read)


def test_a_pdf_previews_inline_from_this_site_under_a_sandbox(imap_user, other_device):
    other_device(imap_user).append(
        "INBOX", mail("Plan", [("plan.pdf", "application/pdf", PDF)])
    )
    account, inbox, client = synced(imap_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    page = client.get(base).content.decode()
    assert f'<a href="{base}part/2" download>plan.pdf</a>' in page
    assert f'<a class="preview" href="{base}part/2?inline=1"' in page

    preview = client.get(f"{base}part/2?inline=1")
    assert preview.status_code == 200
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"] == 'inline; filename="plan.pdf"'
    assert preview["X-Content-Type-Options"] == "nosniff"
    policy = [d.strip() for d in preview["Content-Security-Policy"].split(";")]
    assert policy[0] == "sandbox"
    for directive in (
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ):
        assert directive in policy, directive
    assert "script-src" not in preview["Content-Security-Policy"]
    assert preview["X-Frame-Options"] == "DENY"
    assert preview["Referrer-Policy"] == "no-referrer"
    assert "private" in preview["Cache-Control"]
    assert content(preview) == PDF

    # The download link still downloads, as bytes of no type.
    download = client.get(f"{base}part/2")
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert content(download) == PDF


def test_an_untyped_part_named_pdf_previews_as_a_pdf(imap_user, other_device):
    other_device(imap_user).append(
        "INBOX",
        mail(
            "Scans",
            [
                ("Scan.PDF", "application/octet-stream", PDF),
                ("scan.pdf.exe", "application/octet-stream", b"MZ not a pdf"),
            ],
        ),
    )
    account, inbox, client = synced(imap_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    page = client.get(base).content.decode()
    assert f'href="{base}part/2?inline=1"' in page
    assert f'href="{base}part/3?inline=1"' not in page

    preview = client.get(f"{base}part/2?inline=1")
    assert preview["Content-Type"] == "application/pdf"
    assert preview["Content-Disposition"] == 'inline; filename="Scan.PDF"'
    assert preview["Content-Security-Policy"].startswith("sandbox;")
    assert content(preview) == PDF
    # A name that only contains ".pdf" downloads, even when asked to show.
    refused = client.get(f"{base}part/3?inline=1")
    assert refused["Content-Type"] == "application/octet-stream"
    assert refused["Content-Disposition"] == 'attachment; filename="scan.pdf.exe"'
    assert content(refused) == b"MZ not a pdf"


def test_a_large_pdf_preview_streams_in_bounded_memory(imap_user, other_device):
    big = tiny_pdf("Big", extra=bytes(range(256)) * (12 * 4096))  # 12 MB
    other_device(imap_user).append(
        "INBOX", mail("Big plan", [("big.pdf", "application/pdf", big)])
    )
    account, inbox, _ = synced(imap_user)
    client = AsyncClient()
    client.force_login(account.user)
    url = f"/mail/{account.id}/{inbox.id}/1/part/2?inline=1"

    _, response, digest, size, peak = in_own_loop(lambda: _stream_measured(client, url))
    assert response["Content-Type"] == "application/pdf"
    assert size == len(big)
    assert digest == hashlib.sha256(big).hexdigest()
    # The web process held a few chunks at a time, never the file.
    assert peak < 4 * 1024 * 1024, peak
    assert re.match(r"^sandbox;", response["Content-Security-Policy"])
