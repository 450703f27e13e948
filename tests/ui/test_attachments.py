"""Attaching files on the compose page, in Django's client: chunks, limits, cut-offs."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tests.ui.mail import account_of, add_message, standard_mailbox
from webmail.models import AccountState, OutgoingMessage, Upload
from webmail.shared import bodycache
from webmail.shared.uploads import clean_abandoned, path_of

pytestmark = pytest.mark.django_db

CHUNK = 1024 * 1024


@pytest.fixture(autouse=True)
def _uploads_in_tmp(settings, tmp_path):
    settings.COMPOSE_UPLOAD_DIR = tmp_path / "uploads"
    settings.COMPOSE_UPLOAD_CHUNK = CHUNK


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _start(client: Client, account, name: str, size: int, key: str = "form-1"):
    return client.post(
        f"/mail/{account.id}/compose/uploads/",
        {"key": key, "name": name, "type": "application/pdf", "size": str(size)},
    )


def _chunk(client: Client, url: str, offset: int, data: bytes):
    return client.post(
        f"{url}?offset={offset}", data, content_type="application/octet-stream"
    )


def _upload(client: Client, account, name: str, data: bytes) -> int:
    answer = _start(client, account, name, len(data))
    assert answer.status_code == 201, answer.content
    url = answer.json()["url"]
    for offset in range(0, len(data), CHUNK):
        sent = _chunk(client, url, offset, data[offset : offset + CHUNK])
        assert sent.status_code == 200, sent.content
    return answer.json()["id"]


def _send(client: Client, account, **fields):
    values = {"to": "bob@example.org", "cc": "", "bcc": "", "subject": "資料"}
    values.update({"body": "どうぞ。", "upload_key": "form-1", **fields})
    return client.post(f"/mail/{account.id}/compose/", values)


def test_chunks_land_in_one_file_that_the_sent_message_names(alice):
    account = account_of(alice)
    client = _client(alice)
    data = os.urandom(2 * CHUNK + 12345)

    upload_id = _upload(client, account, "見積書.pdf", data)
    answer = _send(client, account, upload=[str(upload_id)])

    assert answer.status_code == 302
    upload = Upload.objects.get(id=upload_id)
    assert path_of(upload).read_bytes() == data
    assert (upload.filename, upload.received) == ("見積書.pdf", len(data))
    assert upload.outgoing == OutgoingMessage.objects.get(account=account)


def test_the_compose_page_offers_the_file_picker(alice):
    account = account_of(alice)
    page = _client(alice).get(f"/mail/{account.id}/compose/").content.decode()

    assert 'type="file" multiple' in page
    assert f'data-start-url="/mail/{account.id}/compose/uploads/"' in page


def test_a_file_over_the_setting_is_refused_with_a_message(alice, settings):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 1
    account = account_of(alice)

    answer = _start(_client(alice), account, "video.mp4", CHUNK + 1)

    assert answer.status_code == 413
    assert answer.json()["error"] == (
        "“video.mp4” is too large: a message's attachments may add up to "
        "1.0\xa0MB at most."
    )
    assert not Upload.objects.exists()


def test_the_files_of_one_message_count_together(alice, settings):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 1
    account = account_of(alice)
    client = _client(alice)
    assert _start(client, account, "a.pdf", CHUNK // 2).status_code == 201

    second = _start(client, account, "b.pdf", CHUNK // 2 + 1)
    other_form = _start(client, account, "c.pdf", CHUNK // 2 + 1, key="form-2")

    assert second.status_code == 413
    assert other_form.status_code == 201


def test_the_smtp_servers_size_limit_is_named_when_it_is_lower(alice):
    account = account_of(alice)
    AccountState.objects.update_or_create(
        account=account, defaults={"smtp_max_size": 10 * 1024 * 1024}
    )

    answer = _start(_client(alice), account, "scan.pdf", 9 * 1024 * 1024)

    assert answer.status_code == 413
    assert (
        "your mail server takes messages whose attachments add up to"
        in (answer.json()["error"])
    )


def test_the_refusal_is_in_japanese_for_a_japanese_reader(alice, settings):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 1
    account = account_of(alice)
    client = _client(alice)
    client.cookies["django_language"] = "ja"

    answer = _start(client, account, "動画.mp4", 2 * CHUNK)

    assert answer.json()["error"].startswith("「動画.mp4」は大きすぎます。")


def test_a_cut_off_upload_is_reported_and_goes_on_where_it_stopped(alice):
    account = account_of(alice)
    client = _client(alice)
    data = os.urandom(3 * CHUNK)
    started = _start(client, account, "議事録.pdf", len(data)).json()
    url = started["url"]
    assert _chunk(client, url, 0, data[:CHUNK]).status_code == 200

    # The browser went away after one chunk; the user sends anyway.
    answer = _send(client, account, upload=[str(started["id"])])

    assert answer.status_code == 400
    page = answer.content.decode()
    assert "The upload of “議事録.pdf” stopped at 33%" in page
    assert not OutgoingMessage.objects.exists()
    # The form keeps the file, and the upload carries on from the server's count.
    assert f'name="upload" value="{started["id"]}"' in page
    assert client.get(url).json()["received"] == CHUNK
    repeated = _chunk(client, url, 0, data[:CHUNK])
    assert (repeated.status_code, repeated.json()["received"]) == (409, CHUNK)
    for offset in (CHUNK, 2 * CHUNK):
        assert (
            _chunk(client, url, offset, data[offset : offset + CHUNK]).json()[
                "received"
            ]
            == offset + CHUNK
        )
    assert _send(client, account, upload=[str(started["id"])]).status_code == 302
    assert path_of(Upload.objects.get(id=started["id"])).read_bytes() == data


def test_a_chunk_past_the_announced_size_is_refused(alice):
    account = account_of(alice)
    client = _client(alice)
    url = _start(client, account, "a.bin", 10).json()["url"]

    answer = _chunk(client, url, 0, b"x" * 11)

    assert answer.status_code == 400
    assert "larger than announced" in answer.json()["error"]


def test_a_removed_file_is_gone_from_disk(alice):
    account = account_of(alice)
    client = _client(alice)
    upload_id = _upload(client, account, "a.txt", b"hello")
    path = path_of(Upload.objects.get(id=upload_id))

    answer = client.delete(f"/mail/{account.id}/compose/uploads/{upload_id}")

    assert answer.status_code == 204
    assert not path.exists()
    assert not Upload.objects.exists()


def test_abandoned_uploads_and_stray_files_are_cleaned_up(alice, settings):
    account = account_of(alice)
    client = _client(alice)
    old_id = _upload(client, account, "old.txt", b"old")
    new_id = _upload(client, account, "new.txt", b"new")
    long_ago = timezone.now() - timedelta(hours=settings.COMPOSE_UPLOAD_MAX_AGE + 1)
    Upload.objects.filter(id=old_id).update(updated_at=long_ago)
    old_path = path_of(Upload.objects.get(id=old_id))
    stray = old_path.parent / "stray"
    stray.write_bytes(b"x")
    os.utime(stray, (long_ago.timestamp(), long_ago.timestamp()))

    clean_abandoned()

    assert list(Upload.objects.values_list("id", flat=True)) == [new_id]
    assert not old_path.exists()
    assert not stray.exists()


def test_another_users_upload_cannot_be_sent(alice, bob):
    bob_upload = _upload(_client(bob), account_of(bob), "bob.txt", b"bob")
    account = account_of(alice)

    answer = _send(_client(alice), account, upload=[str(bob_upload)])

    assert answer.status_code == 302
    assert Upload.objects.get(id=bob_upload).outgoing is None


def _original_with_files(alice):
    inbox = standard_mailbox(alice)["INBOX"]
    add_message(inbox, 9, "見積もり", has_attachments=True)
    body = {
        "text": "添付します。\n",
        "raw_html": "",
        "html": "",
        "attachments": [
            {
                "part_id": "2",
                "filename": "見積書.pdf",
                "content_type": "application/pdf",
                "size": 2048,
            },
            {
                "part_id": "3",
                "filename": "地図.png",
                "content_type": "image/png",
                "size": 4096,
            },
        ],
    }
    cache.set(bodycache.cache_key(inbox.account_id, inbox, 9), body, 600)
    return inbox


def test_a_forward_lists_the_originals_files_kept_and_drops_the_removed_one(alice):
    inbox = _original_with_files(alice)
    account = account_of(alice)
    client = _client(alice)

    page = client.get(f"/mail/{account.id}/compose/?forward={inbox.id}:9")

    html = page.content.decode()
    assert "見積書.pdf" in html
    assert "地図.png" in html
    assert 'name="forward_part" value="2" checked' in html
    assert 'name="forward_part" value="3" checked' in html
    answer = _send(
        client,
        account,
        original=f"{inbox.id}:9:$Forwarded",
        forward_part=["3", "2; DROP", "../1"],
    )
    assert answer.status_code == 302
    assert OutgoingMessage.objects.get(account=account).forward_parts == ["3"]


def test_a_file_name_with_a_path_and_line_breaks_is_cleaned(alice):
    account = account_of(alice)

    answer = _start(_client(alice), account, "C:\\Users\\me\\悪い\r\nBcc: x.txt", 1)

    assert answer.status_code == 201
    assert Upload.objects.get().filename == "悪いBcc_ x.txt"


def test_files_the_message_keeps_count_toward_the_limit(alice, settings):
    settings.COMPOSE_MAX_ATTACHMENT_MB = 1
    account = account_of(alice)
    client = _client(alice)

    # The form lists half a megabyte of files from the draft or the forward.
    answer = client.post(
        f"/mail/{account.id}/compose/uploads/",
        {"key": "form-1", "name": "a.pdf", "size": str(CHUNK // 2 + 1),
         "kept": str(CHUNK // 2)},
    )  # fmt: skip

    assert answer.status_code == 413
    assert not Upload.objects.exists()
