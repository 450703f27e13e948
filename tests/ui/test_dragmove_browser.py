"""Moving messages by dragging them onto a folder in the sidebar, in Chromium,
through the worker to the server (checked from a second connection)."""

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


def subjects_in(phone, folder: str) -> set[str]:
    phone.select_folder(folder, readonly=True)
    uids = phone.search(["ALL"])
    fetched = phone.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
    return {
        data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()
        for data in fetched.values()
    }


def test_messages_dragged_onto_a_folder_move_there(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    phone = other_device(imap_user)
    phone.create_folder("Projects")
    phone.subscribe_folder("Projects")
    for subject in ("alpha", "beta", "gamma", "delta"):
        phone.append("INBOX", f"Subject: {subject}\r\n\r\nHi.\r\n".encode())
    sign_in_as(page, live_app, imap_user, rows=4)
    projects = page.locator("#folders li", has_text="Projects").locator("a")
    expect(projects).to_have_count(1, timeout=20_000)

    # One row, not selected: it goes alone.
    page.locator("#list li", has_text="alpha").locator("a.open").drag_to(projects)

    expect(page.locator("#bulk-status")).to_contain_text("moved to Projects")
    expect(page.locator("#list .row")).to_have_count(3)
    wait_for(
        lambda: subjects_in(phone, "Projects") == {"alpha"},
        what="alpha in Projects on the server",
    )

    # A selected row carries the selection with it.
    for subject in ("beta", "delta"):
        page.locator("#list li", has_text=subject).locator("input[data-pick]").check()
    page.locator("#list li", has_text="delta").locator("a.open").drag_to(projects)

    expect(page.locator("#list .row")).to_have_count(1)
    wait_for(
        lambda: subjects_in(phone, "Projects") == {"alpha", "beta", "delta"},
        what="the selection in Projects on the server",
    )
    assert subjects_in(phone, "INBOX") == {"gamma"}
    # The notice offers to undo it, like the toolbar's move.
    expect(page.locator("#bulk-status button, #bulk-status a").first).to_be_visible()
