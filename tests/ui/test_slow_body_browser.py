"""A body the worker takes long to bring: the pane says it is loading, then shows it.

The mail server is frozen for a moment (SIGSTOP) while a message opens,
so the worker's FETCH waits for it: the reading pane comes back at once
saying the message is loading, and fills in once the server goes on.
Through Chromium, uvicorn, the real worker and Dovecot.
"""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from devtools.dovecot import DovecotServer
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    fill,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as
from webmail.models import Folder
from webmail.shared import bodycache

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("worker")]


def test_a_slow_body_shows_loading_then_the_message(
    live_app: str, page: Page, own_dovecot: DovecotServer, other_device
):
    dana = ImapUser("dana@example.org", "danas-mail-password", own_dovecot)
    own_dovecot.add_user(dana.username, dana.password)
    fill(other_device(dana), "INBOX", 2)
    account = sign_in_as(page, live_app, dana, rows=2)
    inbox = Folder.objects.get(account=account, name="INBOX")
    # The worker renders new mail ahead; this one must be fetched when opened.
    key = bodycache.cache_key(account.id, inbox, 1)
    wait_for(lambda: cache.get(key), what="the body rendered ahead")
    cache.delete(key)

    own_dovecot.freeze()
    try:
        page.click("#m1 a.open")
        expect(page.locator("#reader .loading")).to_have_text("Loading the message…")
        time.sleep(1)
    finally:
        own_dovecot.thaw()

    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("body")).to_contain_text("Hello there.", timeout=15_000)
    expect(page.locator("#reader .loading")).to_have_count(0)
    expect(page.locator("#reader .notice.error")).to_have_count(0)
