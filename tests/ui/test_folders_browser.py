"""Moving a folder by dragging it onto another in the sidebar, in Chromium,
through the worker to the server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    wait_for,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.real_mail import sign_in_as

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]


def test_a_folder_dragged_onto_another_moves_into_it(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    for name in ("Outer", "Mover"):
        phone.create_folder(name)
        phone.subscribe_folder(name)
    phone.append("INBOX", b"Subject: hello\r\n\r\nHi.\r\n")
    sign_in_as(page, live_app, imap_user, rows=1)
    mover = page.locator("#folders li", has_text="Mover")
    outer = page.locator("#folders li", has_text="Outer")
    expect(mover).to_have_count(1, timeout=20_000)

    mover.locator("a").drag_to(outer.locator("a"))

    wait_for(
        lambda: "Outer/Mover" in {n for _, _, n in phone.list_folders()},
        what="moved on the server",
    )
    # The tree follows (the "folders" event): Mover is now under Outer.
    expect(page.locator("#folders li.depth-1", has_text="Mover")).to_have_count(
        1, timeout=20_000
    )

    # Outer dropped into its own child is refused, and the sidebar says why.
    page.locator("#folders li", has_text="Outer").first.locator("a").drag_to(
        page.locator("#folders li.depth-1", has_text="Mover").locator("a")
    )
    expect(page.locator("#folders .folder-refused")).to_contain_text(
        "cannot be moved into itself"
    )
