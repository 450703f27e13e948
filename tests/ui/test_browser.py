"""The mailbox in a real browser: layout, reading, shortcuts, phones, languages.

Chromium talks to the app served by uvicorn (live_app); the mailbox is put
in the cache directly, as a sync would leave it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from accounts.models import User
from tests.ui.conftest import PASSWORD, PIXEL_PNG, ImageServer
from tests.ui.mail import (
    account_of,
    add_folder,
    cache_body,
    html_mail,
    standard_mailbox,
)
from webmail.models import Folder, OperationKind, OperationState, PendingOperation
from webmail.shared import events

pytestmark = pytest.mark.browser


def sign_in(page: Page, base: str, username: str = "alice") -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    # Signing in leads to "/", which shows the first account's inbox.
    page.wait_for_selector("#list")
    # The page's modules (shortcuts, live updates) run before "load"; keys
    # pressed earlier would go unheard.
    page.wait_for_load_state("load")
    page.wait_for_selector("html.js", state="attached")


@pytest.fixture
def inbox(alice: User) -> Folder:
    return standard_mailbox(alice)["INBOX"]


@pytest.fixture
def errors(page: Page) -> Iterator[list[str]]:
    found: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            found.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on(
        "response",
        lambda r: found.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield found


def test_the_mailbox_shows_folders_list_and_marks(
    live_app: str, page: Page, inbox: Folder, errors: list[str]
):
    sign_in(page, live_app)
    errors.clear()  # The sign-in page is not under test here.
    page.reload()
    folders = page.locator("#folders .name")
    expect(folders).to_have_text(
        ["Inbox", "Drafts", "Sent", "Archive", "Trash", "Projects", "Beta"]
    )
    expect(page.locator('#folders a[aria-current="page"] .count')).to_have_text("2")
    rows = page.locator("#list .row")
    expect(rows).to_have_count(4)
    unread = page.locator("#m2 .subject")
    read = page.locator("#m1 .subject")
    assert unread.evaluate("e => getComputedStyle(e).fontWeight") == "700"
    assert read.evaluate("e => getComputedStyle(e).fontWeight") == "400"
    expect(page.locator('#m2 .star[aria-pressed="true"]')).to_have_count(1)
    expect(page.locator("#m1 [aria-label='Has attachments']")).to_have_count(1)
    expect(page.locator("#m3 [aria-label='Answered']")).to_have_count(1)
    assert errors == []


def test_the_page_policy_has_no_inline_script(live_app: str, page: Page, inbox):
    sign_in(page, live_app)
    response = page.reload()
    assert response is not None
    policy = response.headers["content-security-policy"]
    script_src = next(
        part for part in policy.split(";") if part.strip().startswith("script-src")
    )
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src


def test_opening_a_message_gives_it_a_url_and_back_returns_to_the_list(
    live_app: str, page: Page, inbox: Folder, errors: list[str]
):
    sign_in(page, live_app)
    errors.clear()
    page.reload()
    folder_path = page.locator("#list").get_attribute("data-refresh-url")
    page.goto(f"{live_app}{folder_path}")
    folder_url = page.url
    page.click("#m2 a.open")
    page.wait_for_url(re.compile(r"/2/$"))
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("body")).to_contain_text("Hello Alice")
    expect(page.locator("#m2")).not_to_have_class(re.compile(r"\bunread\b"))
    expect(page.locator(".remote-bar")).to_contain_text("Remote images are blocked")
    page.go_back()
    page.wait_for_url(folder_url)
    expect(page.locator("#m2")).to_be_visible()
    # htmx restores the list after "back" with requests of its own; a new
    # navigation started before they end would abort them and itself.
    page.wait_for_load_state("networkidle")
    page.goto(f"{folder_url}3/")
    expect(page.locator("#reader h2.subject")).to_have_text("Re: the plan")
    assert errors == []


def test_a_script_in_the_message_frame_does_not_run(
    live_app: str, page: Page, alice: User, inbox: Folder
):
    # As if the sanitizer had let everything through: the sandbox and the
    # frame's own policy must still stop it.
    cache_body(
        inbox,
        2,
        b"Content-Type: text/html\r\n\r\n<p id=ok>text</p>",
        html=(
            '<p id="ok">text</p>'
            "<script>document.body.dataset.ran = 'script';"
            " top.document.title = 'x'</script>"
            "<img src=x onerror=\"document.body.dataset.ran = 'onerror'\">"
        ),
    )
    sign_in(page, live_app)
    page.click("#m2 a.open")
    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("#ok")).to_have_text("text")
    page.wait_for_timeout(300)
    handle = page.locator("#reader iframe.body").element_handle()
    body_frame = handle.content_frame() if handle else None
    assert body_frame
    assert body_frame.evaluate("document.body.dataset.ran") is None
    # The script would have set the title to "x"; the page names the folder
    # (and, after a full load, the message) itself.
    assert page.title().endswith("alice@example.org")
    assert "Inbox" in page.title()


def test_keyboard_shortcuts_move_open_star_and_go_back(
    live_app: str, page: Page, inbox: Folder
):
    sign_in(page, live_app)
    page.keyboard.press("j")
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/2/$"))
    page.keyboard.press("j")
    page.wait_for_url(re.compile(r"/3/$"))
    expect(page.locator("#reader h2.subject")).to_have_text("Re: the plan")
    page.keyboard.press("s")
    expect(page.locator('#reader .star[aria-pressed="true"]')).to_have_count(1)
    assert inbox.messages.get(uid=3).flagged
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    page.keyboard.press("/")
    expect(page.locator('[data-shortcut="search"]')).to_be_focused()
    # Typing in the search box is typing, not shortcuts.
    page.keyboard.type("jk")
    expect(page.locator('[data-shortcut="search"]')).to_have_value("jk")
    assert re.search(r"/3/$", page.url)


def test_shortcuts_wait_while_an_input_method_composes(
    live_app: str, page: Page, inbox: Folder
):
    sign_in(page, live_app)
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.evaluate(
        """() => document.dispatchEvent(new KeyboardEvent("keydown",
             {key: "j", isComposing: true, bubbles: true}))"""
    )
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.evaluate(
        """() => document.dispatchEvent(new KeyboardEvent("keydown",
             {key: "j", bubbles: true}))"""
    )
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bcursor\b"))


def test_a_phone_sees_one_column_without_sideways_scrolling(
    live_app: str, browser: Browser, inbox: Folder
):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        sign_in(page, live_app)
        expect(page.locator("#list .row")).to_have_count(4)
        expect(page.locator("#folders")).to_be_hidden()
        expect(page.locator("#reader")).to_be_hidden()
        width = page.evaluate(
            "[document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1]
        box = page.locator("#m4").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.click("#m4 a.open")
        expect(page.locator("#reader h2.subject")).to_be_visible()
        expect(page.locator("#list")).to_be_hidden()
        page.click("#reader a.back")
        expect(page.locator("#list")).to_be_visible()
        # The folders open over the list from the Folders button.
        page.click('[data-action="folders"]')
        expect(page.locator("#folders")).to_be_visible()
        page.click("#folders a:has-text('Sent')")
        page.wait_for_url(re.compile(r"/mail/\d+/\d+/$"))
        expect(page.locator("#list h1")).to_have_text("Sent")
        expect(page.locator("#folders")).to_be_hidden()
    finally:
        context.close()


def test_dark_and_light_themes_follow_the_system(
    live_app: str, browser: Browser, inbox: Folder
):
    colors = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        try:
            page = context.new_page()
            sign_in(page, live_app)
            colors[scheme] = page.evaluate(
                "getComputedStyle(document.body).backgroundColor"
            )
        finally:
            context.close()
    assert colors["light"] == "rgb(255, 255, 255)"
    assert colors["dark"] == "rgb(23, 24, 26)"


def test_japanese_browsers_get_japanese_and_can_switch_to_english(
    live_app: str, browser: Browser, inbox: Folder
):
    context = browser.new_context(locale="ja-JP")
    try:
        page = context.new_page()
        sign_in(page, live_app)
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.locator("#folders .name").first).to_have_text("受信トレイ")
        page.select_option('select[name="language"]', "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#folders .name").first).to_have_text("Inbox")
    finally:
        context.close()


def test_another_users_mail_is_not_found(
    live_app: str, page: Page, alice: User, bob: User, inbox: Folder
):
    page.goto(f"{live_app}/accounts/login/")
    page.fill('input[name="username"]', "bob")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    account = account_of(alice)
    response = page.goto(f"{live_app}/mail/{account.id}/{inbox.id}/2/")
    assert response is not None and response.status == 404


def test_star_and_delete_from_the_keyboard_reach_the_cache(
    live_app: str, page: Page, inbox: Folder
):
    sign_in(page, live_app)
    # On the list, s stars the row under the cursor.
    expect(page.locator("#m1")).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("s")
    expect(page.locator('#m1 .star[aria-pressed="true"]')).to_have_count(1)
    assert inbox.messages.get(uid=1).flagged
    # In a message, # moves it to the trash and the next older one opens.
    page.click("#m3 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Re: the plan")
    page.keyboard.press("#")
    expect(page.locator("#m3")).to_have_count(0)
    expect(page.locator("#reader h2.subject")).to_have_text("お知らせ メンテナンス")
    page.wait_for_url(re.compile(rf"/{inbox.id}/4/$"))
    expect(page.locator("#bulk-status .notice-text")).to_have_text(
        "Moved to the trash."
    )
    assert not inbox.messages.filter(uid=3).exists()


def test_pane_keys_archive_unread_move_and_spam(live_app: str, page: Page, alice):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    junk = add_folder(account_of(alice), "Junk", "\\Junk")
    sign_in(page, live_app)
    page.keyboard.press("?")
    help_box = page.locator("#help")
    for text in ("Archive", "Mark unread", "Move to a folder", "Spam / not spam"):
        expect(help_box).to_contain_text(text)
    page.keyboard.press("Escape")
    # e archives the open message; the next older one opens.
    page.click("#m1 a.open")
    expect(page.locator("#reader h2.subject")).to_have_text("Quarterly report")
    page.keyboard.press("e")
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    expect(page.locator("#bulk-status .notice-text")).to_have_text("Archived.")
    assert not inbox.messages.filter(uid=1)
    # ! reports it as spam.
    page.keyboard.press("!")
    expect(page.locator("#reader h2.subject")).to_have_text("Re: the plan")
    assert not inbox.messages.filter(uid=2)
    moves = PendingOperation.objects.filter(kind=OperationKind.MOVE)
    targets = list(moves.order_by("id").values_list("payload__target_id", flat=True))
    assert targets == [folders["Archive"].id, junk.id]
    # v opens the folder menu; a folder and Move take it there.
    page.keyboard.press("v")
    select = page.locator("#reader .move-menu select")
    expect(select).to_be_focused()
    select.select_option(label="Beta")
    page.click('#reader [data-action="move-go"]')
    expect(page.locator("#reader h2.subject")).to_have_text("お知らせ メンテナンス")
    assert not inbox.messages.filter(uid=3)
    # Shift+U marks it unread and goes back to the list.
    page.keyboard.press("U")
    page.wait_for_url(re.compile(rf"/{inbox.id}/$"))
    expect(page.locator("#m4")).to_have_count(1)
    assert not inbox.messages.get(uid=4).seen


def test_showing_remote_images_loads_them_through_the_proxy(
    live_app: str, page: Page, inbox: Folder, image_server: ImageServer, settings
):
    settings.IMAGE_PROXY_ALLOWED_HOSTS = ["127.0.0.1"]
    remote = image_server.add("/logo.png", PIXEL_PNG)
    cache_body(inbox, 2, html_mail(f'<p>Logo:</p><img src="{remote}" alt="logo">'))
    sign_in(page, live_app)
    page.click("#m2 a.open")
    frame = page.frame_locator("#reader iframe.body")
    expect(frame.locator("body")).to_contain_text("Logo:")
    expect(frame.locator("img[src]")).to_have_count(0)
    assert image_server.requests == []
    page.click(".remote-bar [data-action='show-images']")
    image = frame.locator("img")
    expect(image).to_have_attribute("src", re.compile(r"^/mail/image/"))
    # The frame is sandboxed: wait for the image from outside it.
    for _ in range(50):
        if image.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert len(image_server.requests) == 1
    assert "cookie" not in {name.lower() for name in image_server.requests[0]}
    assert image.evaluate("img => img.naturalWidth") == 1


def test_changes_from_another_device_show_up_without_a_reload(
    live_app: str, page: Page, alice: User, inbox: Folder
):
    sign_in(page, live_app)
    expect(page.locator("#m2")).to_have_class(re.compile(r"\bunread\b"))
    # Wait until the page listens to its event stream.
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    # The stream subscribes just after it answers.
    page.wait_for_timeout(300)
    # What a sync does when the phone reads a message: cache, then event.
    inbox.messages.filter(uid=2).update(seen=True)
    events.publish(alice.pk, {"type": "flags", "folder": inbox.id, "uids": [2]})
    expect(page.locator("#m2")).not_to_have_class(re.compile(r"\bunread\b"))


def test_an_action_done_in_part_is_told_without_a_reload(
    live_app: str, page: Page, alice: User, inbox: Folder
):
    sign_in(page, live_app)
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    page.wait_for_timeout(300)
    # What the worker does when a move meets messages the phone removed.
    done = PendingOperation.objects.create(
        account_id=inbox.account_id,
        kind=OperationKind.MOVE,
        folder=inbox,
        folder_name="INBOX",
        uidvalidity=1,
        uids=[1, 2],
        payload={"target": "Archive", "missing": [1]},
        state=OperationState.PARTIAL,
    )
    events.publish(alice.pk, {"type": "outbox", "failed": [], "partial": [done.id]})
    expect(page.locator(".failure")).to_have_text(
        re.compile("1 message could not be moved to Archive because another device")
    )


def test_a_row_clicked_the_moment_a_live_update_redraws_the_list_opens_in_place(
    live_app: str, page: Page, alice: User, inbox: Folder
):
    """A click on a row that has just arrived is handled like any other.

    A live update replaces the list; a click that lands before the new rows
    are wired up would load a whole page instead of opening the reading
    pane. The click here comes in the same moment the new list appears.
    """
    sign_in(page, live_app)
    expect(page.locator('#events[data-state="open"]')).to_have_count(1)
    page.wait_for_timeout(300)
    page.evaluate(
        """() => {
          window.sameDocument = true;
          const list = document.querySelector("#list");
          const observer = new MutationObserver((records) => {
            for (const record of records) {
              for (const node of record.addedNodes) {
                if (node.id === "list") {
                  observer.disconnect();
                  node.querySelector("#m2 a.open").click();
                }
              }
            }
          });
          observer.observe(list.parentNode, { childList: true });
        }"""
    )
    events.publish(alice.pk, {"type": "flags", "folder": inbox.id, "uids": [2]})
    expect(page.locator("#reader h2.subject")).to_have_text("Lunch on Friday?")
    page.wait_for_url(re.compile(r"/2/$"))
    assert page.evaluate("window.sameDocument") is True
