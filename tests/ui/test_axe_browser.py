"""WCAG 2.1 AA on every page of the product, as axe-core checks it in Chromium.

axe-core comes from npm (package.json) and is read from node_modules by
this test only: it is put into each page through the DevTools protocol,
never served to users. Every page is checked in English and Japanese, on a
desktop (1440x900) and a phone (390x844) screen, and in dark mode; the
mailbox also with its help overlay and a confirmation open.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from accounts.models import EncryptedTOTPDevice, Identity, User
from tests.ui.conftest import PASSWORD
from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from tests.ui.test_browser import sign_in
from webmail.models import Contact, Folder
from webmail.shared import bodycache

# The pages, not the database, are checked: CI runs this once (SQLite).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.pages_only]

AXE = Path(django_settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Found:
    page: str
    rule: str
    impact: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.page}: {self.rule} ({self.impact}) at {', '.join(self.targets)}"


def axe_violations(page: Page, name: str) -> list[Found]:
    """Run axe-core on the page as it is now; return what fails WCAG 2.1 AA."""
    if not AXE.exists():
        pytest.fail(f"{AXE} not found: scripts/setup installs axe-core from npm.")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Through the DevTools protocol: the page's CSP allows no script of
        # ours, and axe must not depend on what the page serves.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        """tags => window.axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
            iframes: false,
        })""",
        TAGS,
    )
    return [
        Found(
            name,
            violation["id"],
            violation.get("impact") or "",
            tuple(" ".join(node["target"]) for node in violation["nodes"][:5]),
        )
        for violation in result["violations"]
    ]


@dataclass
class Product:
    """A signed-in operator's mailbox, and the URLs of every page."""

    base: str
    pages: dict[str, str]
    trash_message: str
    # A user whose sign-in asks for an authenticator code.
    two_factor_user: str


@pytest.fixture
def product(live_app: str, alice: User) -> Product:
    alice.is_staff = True
    alice.save()
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox: Folder = folders["INBOX"]
    trash: Folder = folders["Trash"]
    add_message(trash, 7, "Old newsletter", seen=True)
    _with_files_and_an_invitation(inbox, 1)
    contact = Contact.objects.create(
        user=alice, name="Dana Sender", email="dana@example.net"
    )
    identity = Identity.objects.filter(account=account).first()
    a, i = account.id, inbox.id

    def url(name: str, *args: object) -> str:
        return live_app + reverse(name, args=args)

    pages = {
        "message": url("mail_message", a, i, 1),
        "conversation": url("mail_conversation", a, i, 1),
        "threads": url("mail_folder", a, i) + "?view=threads",
        # The search page before a search (a search itself needs a worker;
        # its results are the list's own rows, checked on the mailbox).
        "search": url("mail_search", a),
        "compose": url("mail_compose", a),
        "folders": url("mail_folders", a),
        "folder delete": url("mail_folder_delete", a, folders["Projects/Beta"].id),
        "storage": url("mail_storage", a),
        "retention": url("mail_retention", a),
        "contacts": url("mail_contacts"),
        "contact": url("mail_contact", contact.id),
        "scheduled": url("mail_scheduled", a),
        "settings": url("preferences"),
        "mail accounts": url("mail_accounts"),
        "mail account": url("mail_account_edit", a),
        "mail account add": url("mail_account_add"),
        "identities": url("mail_identities", a),
        "identity add": url("mail_identity_add", a),
        "security": url("security"),
        "password": url("password_change"),
        "two-factor": url("twofactor_setup"),
        "users": url("manage:users"),
        "user new": url("manage:user_new"),
        "user": url("manage:user", alice.id),
        "user import": url("manage:import"),
        "audit log": url("manage:audit"),
        "certificates": url("manage:certificates"),
    }
    if identity is not None:
        pages["identity"] = url("mail_identity_edit", a, identity.id)
    add_folder(account, "Projects/Beta/Old")
    carol = User.objects.create_user("carol", password=PASSWORD)
    EncryptedTOTPDevice.objects.create(user=carol, name="phone", confirmed=True)
    trash_message = url("mail_message", a, trash.id, 7)
    return Product(live_app, pages, trash_message, carol.username)


def _with_files_and_an_invitation(folder: Folder, uid: int) -> None:
    key = bodycache.cache_key(folder.account_id, folder, uid)
    body = cache.get(key)
    body["attachments"] = [
        {"part_id": "2", "filename": "report.pdf",
         "content_type": "application/pdf", "size": 48_000},
        {"part_id": "3", "filename": "invite.ics",
         "content_type": "text/calendar", "size": 900},
    ]  # fmt: skip
    body["invitation"] = {
        "summary": "Planning",
        "start": "2026-12-10T10:00:00+09:00",
        "end": "2026-12-10T11:00:00+09:00",
        "location": "Room 4",
        "organizer_name": "Dana Sender",
        "organizer_address": "dana@example.net",
        "method": "REQUEST",
    }
    cache.set(key, body, 600)


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def check_everything(page: Page, product: Product) -> list[Found]:
    """Visit every page as the user would; return what axe finds anywhere."""
    found: list[Found] = []
    page.context.clear_cookies()
    _open(page, product.base + reverse("login"))
    found += axe_violations(page, "sign-in")
    sign_in(page, product.base)
    found += axe_violations(page, "mailbox")
    for name, url in product.pages.items():
        _open(page, url)
        found += axe_violations(page, name)
    found += _with_overlays(page, product)
    found += _signed_out_and_second_step(page, product)
    return found


def _signed_out_and_second_step(page: Page, product: Product) -> list[Found]:
    """The page after signing out, and the code page of a two-factor sign-in."""
    found: list[Found] = []
    _open(page, product.pages["settings"])
    page.get_by_role("button", name=SIGN_OUT[page_language(page)]).click()
    expect(page).to_have_url(re.compile("/accounts/logout/"))
    found += axe_violations(page, "signed out")
    _open(page, product.base + reverse("login"))
    page.fill('input[name="username"]', product.two_factor_user)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    expect(page).to_have_url(re.compile("/accounts/login/code/"))
    found += axe_violations(page, "sign-in code")
    return found


SIGN_OUT = {"en": "Sign out", "ja": "サインアウト"}


def page_language(page: Page) -> str:
    return "ja" if page.evaluate("document.documentElement.lang") == "ja" else "en"


def _with_overlays(page: Page, product: Product) -> list[Found]:
    found: list[Found] = []
    _open(page, product.pages["message"])
    page.wait_for_selector("html.js", state="attached")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    found += axe_violations(page, "help overlay")
    page.keyboard.press("Escape")
    _open(page, product.trash_message)
    page.wait_for_selector("html.js", state="attached")
    page.locator('#reader [data-action="delete"]').click()
    expect(page.locator("#reader [role=alertdialog]")).to_be_visible()
    found += axe_violations(page, "delete confirmation")
    return found


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts = []

    def make(**options: Any) -> Page:
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize(
    ("language", "viewport"),
    [("en-US", DESKTOP), ("ja-JP", DESKTOP), ("en-US", PHONE), ("ja-JP", PHONE)],
    ids=["english-desktop", "japanese-desktop", "english-phone", "japanese-phone"],
)
def test_no_page_fails_wcag_21_aa(
    product: Product,
    new_page: Callable[..., Page],
    language: str,
    viewport: dict[str, int],
):
    page = new_page(locale=language, viewport=viewport)

    found = check_everything(page, product)

    assert not found, "axe-core finds:\n" + "\n".join(map(str, found))


def test_no_page_fails_wcag_21_aa_in_dark_mode(
    product: Product, new_page: Callable[..., Page]
):
    page = new_page(viewport=DESKTOP)
    # prefers-color-scheme: dark, through the DevTools protocol.
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")

    found = check_everything(page, product)

    assert not found, "axe-core finds:\n" + "\n".join(map(str, found))


def test_the_check_finds_a_button_without_a_name(
    product: Product, new_page: Callable[..., Page]
):
    page = new_page(viewport=DESKTOP)
    sign_in(page, product.base)
    assert axe_violations(page, "mailbox") == []
    page.evaluate(
        "document.querySelector('.help-button').removeAttribute('aria-label');"
        "document.querySelector('.help-button').removeAttribute('title');"
        "document.querySelector('.help-button').textContent = '';"
    )

    found = axe_violations(page, "mailbox")

    assert [f.rule for f in found] == ["button-name"]
    assert found[0].targets == (".help-button",)
