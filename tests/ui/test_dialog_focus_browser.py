"""The keyboard in the help overlay and a confirmation, in Chromium.

Tab goes round the dialog's own controls and never leaves it, and the
focused control has an outline that stands out from what is behind it
(3:1, WCAG 1.4.11), in the light theme and the dark one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from tests.ui.mail import add_message, standard_mailbox
from tests.ui.test_browser import sign_in

pytestmark = pytest.mark.browser

# The focused element's outline, and the contrast of its colour with the
# first opaque background behind the element.
FOCUS = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const linear = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  let behind = element.parentElement;
  while (behind) {
    const color = rgb(getComputedStyle(behind).backgroundColor);
    if (color.length < 4 || color[3] > 0) break;
    behind = behind.parentElement;
  }
  const back = behind ? rgb(getComputedStyle(behind).backgroundColor) : [255, 255, 255];
  const [a, b] = [luminance(rgb(style.outlineColor)), luminance(back)];
  return {
    style: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
    contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
    text: element.textContent.trim(),
  };
}"""


@pytest.fixture(params=["light", "dark"])
def themed(request, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(color_scheme=request.param)
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def tab_round(page: Page, dialog: str, presses: int, key: str = "Tab") -> list[str]:
    """Press Tab; after each, the focus is in the dialog and clearly outlined."""
    seen = []
    for _ in range(presses):
        page.keyboard.press(key)
        assert page.evaluate(
            f"document.querySelector({dialog!r}).contains(document.activeElement)"
        ), f"{key} left the dialog"
        focus = page.evaluate(FOCUS)
        assert focus["style"] not in ("none", "hidden") and focus["width"] >= 2
        assert focus["contrast"] >= 3, focus
        seen.append(focus["text"])
    return seen


def test_tab_stays_in_the_help_overlay_with_a_visible_focus(
    live_app: str, themed: Page, alice
):
    standard_mailbox(alice)
    page = themed
    sign_in(page, live_app)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()

    seen = tab_round(page, "#help", 3) + tab_round(page, "#help", 2, "Shift+Tab")

    assert set(seen) == {"Close"}
    page.keyboard.press("Enter")
    expect(page.locator("#help")).to_be_hidden()


def test_tab_goes_round_a_delete_confirmation(live_app: str, themed: Page, alice):
    trash = standard_mailbox(alice)["Trash"]
    add_message(trash, 7, "Old newsletter", seen=True)
    page = themed
    sign_in(page, live_app)
    page.goto(live_app + reverse("mail_message", args=[trash.account_id, trash.id, 7]))
    page.wait_for_selector("html.js", state="attached")
    page.locator('#reader [data-action="delete"]').click()
    confirm = page.locator("#reader [role=alertdialog]")
    expect(confirm).to_be_visible()
    expect(confirm.locator('[data-action="delete-confirm"]')).to_be_focused()

    forward = tab_round(page, "#reader [role=alertdialog]", 4)
    backward = tab_round(page, "#reader [role=alertdialog]", 2, "Shift+Tab")

    assert forward == ["Cancel", "Delete for good", "Cancel", "Delete for good"]
    assert backward == ["Cancel", "Delete for good"]
    # A click elsewhere on the page lets the focus go.
    page.locator("#list .row a.open").first.focus()
    page.keyboard.press("Tab")
    assert not page.evaluate(
        "document.querySelector('[role=alertdialog]').contains(document.activeElement)"
    )
