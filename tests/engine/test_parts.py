"""Attachments, inline images and raw messages, through a real worker.

The web process asks the account's worker, which streams the part from
Dovecot into Redis; the view streams it on. The full Dovecot offers BINARY
(the server decodes), the reduced one does not (the worker decodes).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import time
import tracemalloc
import zipfile
from email.message import EmailMessage

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

from tests.engine.conftest import account_for
from webmail.engine import folderlist, sync
from webmail.mail import parts
from webmail.models import Folder
from webmail.shared import partstream

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def _synced(imap_user):
    """A webmail account on the user's mailbox, with INBOX in the cache."""
    account = account_for(imap_user)
    folderlist.sync_folder_list(account.id)
    inbox = Folder.objects.get(account=account, name="INBOX")
    sync.sync_folder(account.id, inbox.id)
    client = Client()
    client.force_login(account.user)
    return account, inbox, client


def _url(account, inbox, uid, rest=""):
    return f"/mail/{account.id}/{inbox.id}/{uid}/{rest}"


def _content(response) -> bytes:
    """Read a streamed response (its content is an async iterator)."""

    async def read() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(read)()


def _mail(subject="Files", html=None):
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg.set_content("See the files.\n")
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


async def _stream_measured(client: AsyncClient, url: str):
    """GET url; return (status, headers, sha256, size, peak bytes while reading)."""
    digest = hashlib.sha256()
    size = 0
    tracemalloc.start()
    try:
        response = await client.get(url)
        async for chunk in response.streaming_content:
            digest.update(chunk)
            size += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response.status_code, response, digest.hexdigest(), size, peak


def test_a_20_mb_attachment_streams_byte_identical_in_bounded_memory(
    worker, server_user, other_device
):
    payload = os.urandom(20 * 1024 * 1024)
    msg = _mail("Big file")
    msg.add_attachment(
        payload, maintype="application", subtype="octet-stream", filename="big.bin"
    )
    phone = other_device(server_user)
    phone.append("INBOX", msg.as_bytes())
    binary = b"BINARY" in phone.capabilities()
    # Both decoding paths are covered: the server's and the worker's.
    assert binary == (server_user.server.variant == "full")
    del msg
    account, inbox, pane = _synced(server_user)
    # The pane lists it from the BODYSTRUCTURE (the file stays on the server).
    page = pane.get(_url(account, inbox, 1)).content.decode()
    assert f'<a href="{_url(account, inbox, 1)}part/2" download>big.bin</a>' in page
    client = AsyncClient()
    client.force_login(account.user)

    status, response, digest, size, peak = async_to_sync(_stream_measured)(
        client, _url(account, inbox, 1, "part/2")
    )
    assert status == 200
    assert response["Content-Disposition"] == 'attachment; filename="big.bin"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert size == len(payload)
    assert digest == hashlib.sha256(payload).hexdigest()
    # The web process held a few chunks at a time, never the file.
    assert peak < 4 * 1024 * 1024, peak


def test_a_quoted_printable_part_decodes(worker, server_user, other_device):
    text = "Grüße aus Köln, 東京の天気 = 晴れ\n" * 200
    msg = _mail("Notes")
    msg.add_attachment(
        text,
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
        filename="notes.txt",
    )
    raw = msg.as_bytes()
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    other_device(server_user).append("INBOX", raw)
    account, inbox, client = _synced(server_user)

    response = client.get(_url(account, inbox, 1, "part/2"))
    assert response.status_code == 200
    # Text travels with CRLF line breaks (MIME's canonical form).
    assert _content(response) == text.replace("\n", "\r\n").encode()

    preview = client.get(_url(account, inbox, 1, "part/2?inline=1"))
    assert preview["Content-Type"] == "text/plain; charset=utf-8"
    assert preview["Content-Disposition"] == 'inline; filename="notes.txt"'
    assert _content(preview).decode() == text.replace("\n", "\r\n")


def test_previews_only_safe_types_and_always_sandboxed(worker, imap_user, other_device):
    msg = _mail("Mixed")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="dot.png")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    msg.add_attachment(svg, maintype="image", subtype="svg+xml", filename="x.svg")
    msg.add_attachment("<script>alert(1)</script>", subtype="html", filename="p.html")
    other_device(imap_user).append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)

    png = client.get(_url(account, inbox, 1, "part/2?inline=1"))
    assert png["Content-Type"] == "image/png"
    assert png["Content-Disposition"] == 'inline; filename="dot.png"'
    assert _content(png) == PNG
    responses = [png]
    for part, name in (("3", "x.svg"), ("4", "p.html")):
        response = client.get(_url(account, inbox, 1, f"part/{part}?inline=1"))
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        _content(response)
        responses.append(response)
    for response in responses:
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"].startswith("sandbox;")
        assert "private" in response["Cache-Control"]


def test_a_fake_extension_is_not_in_the_download_name(worker, imap_user, other_device):
    msg = _mail("Invoice")
    msg.add_attachment(
        b"MZ",
        maintype="application",
        subtype="octet-stream",
        filename="invoice\u202efdp.exe",
    )
    other_device(imap_user).append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)

    page = client.get(_url(account, inbox, 1)).content.decode()
    assert "invoicefdp.exe" in page
    assert "\u202e" not in page
    response = client.get(_url(account, inbox, 1, "part/2"))
    assert response["Content-Disposition"] == 'attachment; filename="invoicefdp.exe"'
    assert _content(response) == b"MZ"


def test_a_message_gone_from_the_server_gives_a_clear_error(
    worker, imap_user, other_device
):
    msg = _mail("Soon gone")
    msg.add_attachment(PNG, maintype="image", subtype="png", filename="dot.png")
    phone = other_device(imap_user)
    phone.append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)
    # Another client deletes it; the cache has not heard yet.
    phone.select_folder("INBOX")
    phone.delete_messages([1])
    phone.expunge()

    for rest in ("part/2", "source", "eml"):
        response = client.get(_url(account, inbox, 1, rest))
        assert response.status_code == 404
        assert "no longer there" in response.content.decode()
    # A part the message does not have.
    phone.append("INBOX", msg.as_bytes())
    sync.sync_folder(account.id, inbox.id)
    assert client.get(_url(account, inbox, 2, "part/7")).status_code == 404
    assert client.get(_url(account, inbox, 2, "part/1.x")).status_code == 404


def test_the_reader_says_a_gone_message_is_gone_in_the_readers_language(
    worker, imap_user, other_device
):
    phone = other_device(imap_user)
    phone.append("INBOX", _mail("Soon gone").as_bytes())
    account, inbox, client = _synced(imap_user)
    phone.select_folder("INBOX")
    phone.delete_messages([1])
    phone.expunge()

    english = client.get(_url(account, inbox, 1), HTTP_ACCEPT_LANGUAGE="en")
    assert "The message is no longer on the server." in english.content.decode()
    japanese = client.get(_url(account, inbox, 1), HTTP_ACCEPT_LANGUAGE="ja")
    page = japanese.content.decode()
    assert "メッセージはもうサーバーにありません。" in page
    assert "The message is no longer on the server." not in page


def test_an_unreachable_server_gives_a_clear_error(worker, imap_user, other_device):
    other_device(imap_user).append("INBOX", _mail("Hi").as_bytes())
    account, inbox, client = _synced(imap_user)
    account.imap_port = 1  # nothing listens there
    account.save()

    response = client.get(_url(account, inbox, 1, "source"))
    assert response.status_code == 503
    assert "cannot be reached" in response.content.decode()


def test_inline_images_load_through_a_signed_url_without_cookies(
    worker, imap_user, other_device, make_imap_user
):
    msg = _mail("Logo", html='<p>Our logo:</p><img src="cid:logo@x" alt="logo">')
    msg.get_payload()[1].add_related(
        PNG, maintype="image", subtype="png", cid="<logo@x>"
    )
    other_device(imap_user).append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)

    frame = client.get(_url(account, inbox, 1, "body")).content.decode()
    match = re.search(r'src="(/mail/part/(\d+)/([^"]+))"', frame)
    assert match, frame
    url, user_id, token = match.groups()
    assert int(user_id) == account.user_id
    # The sandboxed frame sends no cookies: the signature alone lets it in.
    anonymous = Client()
    image = anonymous.get(url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert _content(image) == PNG

    tampered = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    assert anonymous.get(f"/mail/part/{user_id}/{tampered}").status_code == 404
    # The token is bound to its user: another user's id does not verify it.
    other = account_for(make_imap_user())
    assert anonymous.get(f"/mail/part/{other.user_id}/{token}").status_code == 404
    # A token the other user holds does not open this user's account.
    from webmail.shared.partlinks import sign_part

    forged = sign_part(other.user_id, account.id, inbox.id, 1, "2.2")
    assert anonymous.get(f"/mail/part/{other.user_id}/{forged}").status_code == 404


def test_download_all_zips_every_attachment_with_unique_names(
    worker, imap_user, other_device
):
    msg = _mail("Three files")
    files = [
        ("report.pdf", b"%PDF-1 first"),
        ("report.pdf", b"%PDF-1 second"),
        ("写真.png", PNG),
    ]
    for name, data in files:
        msg.add_attachment(
            data, maintype="application", subtype="octet-stream", filename=name
        )
    other_device(imap_user).append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)

    response = client.get(_url(account, inbox, 1, "attachments.zip"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="Three files.zip"'
    archive = zipfile.ZipFile(io.BytesIO(_content(response)))
    assert archive.testzip() is None
    assert archive.namelist() == ["report.pdf", "report (2).pdf", "写真.png"]
    assert [archive.read(n) for n in archive.namelist()] == [d for _, d in files]


RAW = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: =?UTF-8?B?5pel5pys6Kqe?= source\r\n"
    b"Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Caf\xe9 cr\xe8me \xe6\x97\xa5\xe6\x9c\xac\r\n"
)


def test_view_source_and_eml_give_the_raw_message(worker, imap_user, other_device):
    other_device(imap_user).append("INBOX", RAW)
    account, inbox, client = _synced(imap_user)

    eml = client.get(_url(account, inbox, 1, "eml"))
    assert eml["Content-Type"] == "message/rfc822"
    assert eml["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20source.eml"
    )
    assert _content(eml) == RAW

    source = client.get(_url(account, inbox, 1, "source"))
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    assert "Content-Disposition" not in source
    text = _content(source).decode("utf-8")
    # Bytes that are not UTF-8 show as replacement characters, the rest as is.
    assert "Caf\ufffd cr\ufffdme 日本" in text
    assert "Subject: =?UTF-8?B?5pel5pys6Kqe?= source" in text


def test_print_view_shows_headers_and_the_sanitized_body(
    worker, imap_user, other_device
):
    msg = _mail(
        "Minutes",
        html="<p>Agreed.</p><script>alert(1)</script>"
        "<img src='https://tracker.example.com/p.gif'>",
    )
    other_device(imap_user).append("INBOX", msg.as_bytes())
    account, inbox, client = _synced(imap_user)

    response = client.get(_url(account, inbox, 1, "print"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Minutes</h1>" in page
    assert "Alice" in page
    assert "Agreed." in page
    assert "<script" not in page
    assert "tracker.example.com" not in page
    policy = response["Content-Security-Policy"]
    assert "script-src 'none'" in policy
    assert "default-src 'none'" in policy


def _big_message(size: int) -> bytes:
    msg = _mail("Large")
    msg.add_attachment(
        os.urandom(size), maintype="application", subtype="zip", filename="a.zip"
    )
    return msg.as_bytes()


def test_the_worker_waits_for_a_slow_reader(worker, imap_user, other_device):
    other_device(imap_user).append("INBOX", _big_message(4 * 1024 * 1024))
    account, inbox, _ = _synced(imap_user)
    stream = parts.open_stream(account.id, inbox.id, 1, ["2"])
    client = redis.Redis.from_url(settings.REDIS_URL)

    async def read_slowly() -> int:
        total = 0
        async for chunk in stream.data():
            # Give the worker time to run ahead if nothing held it back.
            await asyncio.sleep(0.05)
            waiting = client.llen(stream.key)
            assert waiting <= partstream.WINDOW, waiting
            total += len(chunk)
        return total

    assert async_to_sync(read_slowly)() == 4 * 1024 * 1024


def test_abandoned_downloads_give_their_connections_back(
    worker, imap_user, other_device
):
    other_device(imap_user).append("INBOX", _big_message(8 * 1024 * 1024))
    account, inbox, client = _synced(imap_user)
    # More abandoned downloads than the account may have connections.
    for _ in range(3):
        stream = parts.open_stream(account.id, inbox.id, 1, ["2"])

        async def read_one(stream=stream) -> None:
            # As the server does when the browser cancels the download.
            async with contextlib.aclosing(stream.data()) as data:
                async for _chunk in data:
                    break

        async_to_sync(read_one)()
    started = time.monotonic()
    response = client.get(_url(account, inbox, 1, "source"))
    assert response.status_code == 200
    assert len(_content(response)) > 8 * 1024 * 1024
    assert time.monotonic() - started < 10
