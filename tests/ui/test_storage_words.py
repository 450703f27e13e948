"""What the storage pieces say, in English and Japanese, from the cache alone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from accounts.models import User
from tests.ui.mail import account_of, standard_mailbox
from webmail.models import AccountState, OperationKind, OperationState, PendingOperation
from webmail.views.sizes import readable_size

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("size", "english", "japanese"),
    [
        (0, "0 bytes", "0 バイト"),
        (1, "1 byte", "1 バイト"),
        (2048, "2 KB", "2 KB"),
        (11_639_194, "11.1 MB", "11.1 MB"),
        (200 * 1024 * 1024, "200 MB", "200 MB"),
        (3 * 1024**4, "3 TB", "3 TB"),
    ],
)
def test_sizes_read_as_people_write_them(size, english, japanese):
    with translation.override("en"):
        assert readable_size(size) == english
    with translation.override("ja"):
        assert readable_size(size) == japanese


def test_a_move_refused_for_a_full_mailbox_names_the_move(alice: User):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    PendingOperation.objects.create(
        account=account,
        kind=OperationKind.MOVE,
        folder=inbox,
        folder_name="INBOX",
        uidvalidity=1,
        uids=[1, 2],
        payload={"target": "Archive", "target_id": folders["Archive"].id},
        state=OperationState.FAILED,
        last_error="The mailbox on imap.example.org is full (NO [OVERQUOTA]).",
        error_kind="OverQuota",
    )
    client = Client()
    client.force_login(alice)

    page = client.get(f"/mail/{account.id}/{inbox.id}/").content.decode()
    assert (
        "2 messages could not be moved to Archive: the mailbox is full. "
        "They are still in INBOX."
    ) in page
    assert f'<a href="/mail/{account.id}/storage/">Free up space</a>' in page

    client.cookies["django_language"] = "ja"
    page = client.get(f"/mail/{account.id}/{inbox.id}/").content.decode()
    assert "2 件のメッセージを Archive に移動できませんでした" in page
    assert "空き容量を増やす" in page


def test_the_meter_and_the_storage_page_in_japanese(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    AccountState.objects.create(
        account=account, quota_used_kb=11_366, quota_limit_kb=200 * 1024
    )
    client = Client()
    client.cookies["django_language"] = "ja"
    client.force_login(alice)

    page = client.get(f"/mail/{account.id}/{inbox.id}/").content.decode()
    assert "200 MB 中 11.1 MB 使用" in page
    page = client.get(f"/mail/{account.id}/storage/").content.decode()
    assert "200 MB 中 11.1 MB 使用" in page
    assert "サイズの大きいメッセージ" in page
