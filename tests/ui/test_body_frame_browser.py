"""The message frame of the reading pane in Chromium, its last two layers.

The pane carries the body as the frame's srcdoc. Each test puts in the
cache a body as if the sanitizer had let everything through: the sandbox
(no scripts, an origin of its own), the document's own policy and the
page's policy that a srcdoc inherits must stop it all the same.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Frame, Page, Request, expect

from accounts.models import User
from tests.ui.conftest import PASSWORD, PIXEL_PNG, ImageServer
from tests.ui.mail import cache_body, html_mail, standard_mailbox
from webmail.models import Folder

pytestmark = pytest.mark.browser


@pytest.fixture
def inbox(alice: User) -> Folder:
    return standard_mailbox(alice)["INBOX"]


def sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="username"]', "alice")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_selector("#list")
    page.wait_for_load_state("load")


def open_message(page: Page, uid: int) -> Frame:
    """Click a message open; return its body frame once loaded and settled."""
    page.click(f"#m{uid} a.open")
    expect(page.locator(f'#reader .message[data-uid="{uid}"]')).to_have_count(1)
    handle = page.locator("#reader iframe.body").element_handle()
    assert handle
    frame = handle.content_frame()
    assert frame
    frame.wait_for_load_state("load")
    # Load-time handlers (onerror, onload) get their chance.
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))")
    page.wait_for_timeout(200)
    return frame


def test_opening_a_message_is_one_request_and_the_body_shows(
    live_app: str, page: Page, inbox: Folder
):
    sign_in(page, live_app)
    sent: list[str] = []

    def on_request(request: Request) -> None:
        sent.append(request.url)

    page.on("request", on_request)
    frame = open_message(page, 2)
    expect(frame.locator("body")).to_contain_text("Hello Alice")
    assert frame.url == "about:srcdoc"
    assert page.url in sent
    # Nothing else is asked for the body (the list may refresh: it is read).
    assert [url for url in sent if "/body" in url] == []


def test_a_script_in_the_body_runs_nowhere(live_app: str, page: Page, inbox: Folder):
    cache_body(
        inbox,
        2,
        b"Content-Type: text/html\r\n\r\n<p id=ok>text</p>",
        html=(
            '<p id="ok">text</p>'
            "<script>window.__pwned = 1; try { top.__pwned = 1 } catch (e) {}"
            " document.body.dataset.ran = 'script'</script>"
            '<img src=x onerror="window.__pwned = 1; top.__pwned = 1">'
            '<svg onload="window.__pwned = 1"></svg>'
            '<a id="js" href="javascript:top.__pwned = 1">link</a>'
        ),
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    sign_in(page, live_app)
    frame = open_message(page, 2)
    expect(frame.locator("#ok")).to_have_text("text")
    frame.locator("#js").click(no_wait_after=True)
    page.wait_for_timeout(200)
    assert frame.evaluate("() => window.__pwned") is None
    assert frame.evaluate("() => document.body.dataset.ran") is None
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []


def test_the_body_cannot_reach_the_page(live_app: str, page: Page, inbox: Folder):
    sign_in(page, live_app)
    frame = open_message(page, 2)
    # Even a script that did run would be in an origin of its own: the
    # page, its cookies and its storage are out of reach.
    assert frame.evaluate("() => self.origin") == "null"
    reached = frame.evaluate(
        """() => {
            const tries = {
                document: () => parent.document.title,
                top: () => top.location.href,
                cookie: () => document.cookie,
                storage: () => localStorage.length,
            };
            return Object.fromEntries(Object.entries(tries).map(([name, reach]) => {
                try { reach(); return [name, "reached"]; }
                catch (e) { return [name, e.name]; }
            }));
        }"""
    )
    assert reached == {
        "document": "SecurityError",
        "top": "SecurityError",
        "cookie": "SecurityError",
        "storage": "SecurityError",
    }


def test_the_body_loads_nothing_from_elsewhere_and_posts_nothing(
    live_app: str, page: Page, inbox: Folder, image_server: ImageServer
):
    remote = image_server.add("/pixel.png", PIXEL_PNG)
    css = image_server.add("/x.css", b"p { color: red }", "text/css")
    cache_body(
        inbox,
        2,
        b"Content-Type: text/html\r\n\r\n<p id=ok>text</p>",
        html=(
            '<p id="ok">text</p>'
            f'<img id="remote" src="{remote}">'
            f'<div style="background-image: url({remote})">bg</div>'
            f'<link rel="stylesheet" href="{css}">'
            f"<style>@import url({css});</style>"
            f'<iframe src="{image_server.url("/frame")}"></iframe>'
            f'<form action="{image_server.url("/steal")}" method="post">'
            '<input name="pw" value="x"><button id="go">Log in</button></form>'
        ),
    )
    sign_in(page, live_app)
    frame = open_message(page, 2)
    expect(frame.locator("#ok")).to_have_text("text")
    frame.locator("#go").click(no_wait_after=True)
    page.wait_for_timeout(300)
    assert frame.evaluate("() => document.getElementById('remote').naturalWidth") == 0
    assert image_server.requests == []
    expect(page.locator("#reader iframe.body")).to_be_visible()


def test_the_body_keeps_its_styles_and_gets_no_others(
    live_app: str, page: Page, inbox: Folder
):
    cache_body(
        inbox,
        2,
        html_mail('<p id="mine" style="color: rgb(0, 128, 0)">green</p>'),
        html=(
            '<p id="mine" style="color: rgb(0, 128, 0)">green</p>'
            '<p id="other">plain</p>'
            "<style>#other { color: rgb(255, 0, 0) }</style>"
        ),
    )
    sign_in(page, live_app)
    frame = open_message(page, 2)
    expect(frame.locator("#mine")).to_have_css("color", "rgb(0, 128, 0)")
    # The frame's own stylesheet (body.css) applies; a <style> of the mail
    # that got past the sanitizer does not.
    expect(frame.locator("body")).to_have_css("padding-top", "16px")
    expect(frame.locator("#other")).to_have_css("color", "rgb(29, 29, 31)")
    # The page itself still takes no stylesheet but its own files.
    added = page.evaluate(
        """() => {
            const style = document.createElement("style");
            style.textContent = "body { color: rgb(255, 0, 0) }";
            document.head.append(style);
            return getComputedStyle(document.body).color;
        }"""
    )
    assert added != "rgb(255, 0, 0)"
