"""Downloads served by uvicorn from a real worker (webmail/views/parts.py)."""

from __future__ import annotations

import http.client
import os
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    synced_inbox,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.test_serving import _session_cookie
from webmail.views.present import message_url


@pytest.mark.slow
@pytest.mark.usefixtures("worker")
def test_open_downloads_hold_no_database_connection(
    live_app: str, imap_user: ImapUser, other_device, settings
):
    # A download lasts as long as its reader takes; a slot of the pool held
    # all that time would be one the pages lack.
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("only a pooled database can run out of connections")
    from django.db import connection

    mail = EmailMessage()
    mail["From"] = "alice@example.org"
    mail["Subject"] = "Big file"
    mail.set_content("See the file.\n")
    mail.add_attachment(
        os.urandom(4 * 1024 * 1024),
        maintype="application",
        subtype="octet-stream",
        filename="big.bin",
    )
    other_device(imap_user).append("INBOX", mail.as_bytes())
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    cookie = _session_cookie(account.user)
    pool = connection.pool

    def in_use() -> int:
        stats = pool.get_stats()
        return int(stats["pool_size"] - stats["pool_available"])

    before = in_use()
    where = urlsplit(live_app)
    downloads = []
    try:
        for _ in range(3):
            download = http.client.HTTPConnection(
                where.hostname or "", where.port, timeout=30
            )
            download.request(
                "GET",
                message_url(account.id, inbox.id, 1) + "part/2",
                headers={"Cookie": cookie},
            )
            answer = download.getresponse()
            assert answer.status == 200
            assert answer.read1(65536)
            downloads.append(download)
        # Each is still open, its reader (this test) slow to read on.
        assert in_use() == before
    finally:
        for download in downloads:
            download.close()
