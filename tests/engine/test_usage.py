"""The operator sees each user's quota and open IMAP connections."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from accounts.operator import mail_usage_for_user
from tests.engine.conftest import account_for, fill
from webmail.engine import folderlist

pytestmark = pytest.mark.django_db(transaction=True)


def test_usage_is_unknown_before_the_first_sync(imap_user):
    account = account_for(imap_user)
    assert mail_usage_for_user(account.user) is None


def test_a_sync_records_quota_and_connections(imap_user, other_device, client):
    phone = other_device(imap_user)
    fill(phone, "INBOX", 3)
    account = account_for(imap_user)

    folderlist.sync_folder_list(account.id)

    usage = mail_usage_for_user(account.user)
    assert usage is not None
    assert usage.quota_limit_bytes == imap_user.server.quota_mb * 1024 * 1024
    assert 0 < usage.quota_used_bytes < 1024 * 1024
    assert usage.open_connections >= 1

    staff = User.objects.create_user("operator", password="unused-pw-1", is_staff=True)
    client.force_login(staff)
    for url in ("/manage/", f"/manage/users/{account.user.id}/"):
        page = client.get(url).content.decode()
        # "0.1 MB of 200 MB" with a bar, against the server's limit.
        assert f'max="{usage.quota_limit_bytes}"' in page, url
        assert re.search(r"of 200(\.0)?\sMB", page), url
