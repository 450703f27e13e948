"""The settings, operator and sign-in pages in Chromium, as a person sees them.

Each page is opened at a desktop size (1440 by 900) and a phone size (390 by
844), in English and in Japanese (and the phone in the dark theme), and a
full-page screenshot is saved for a person to compare (in $SCREENSHOT_DIR,
by default /tmp/webmail-screens; nothing is committed). On each page
(tests/ui/design_checks.js): the stylesheet is applied, nothing scrolls
sideways, a page taller than the window scrolls, table headers stay on one
line, labels sit above their fields and errors next to them, each form's
primary (filled) button is its first, and "Sign out" is not a filled button.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from accounts.models import Identity, TrustedCertificate, User
from tests.ui.conftest import PASSWORD, make_user
from tests.ui.mail import account_of, standard_mailbox
from webmail.models import AccountState, Contact

# The pages, not the database, are checked: CI runs this once (SQLite).
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.pages_only]

SIZES = {"desktop": (1440, 900), "phone": (390, 844)}
LANGUAGES = {"en": "en-GB", "ja": "ja-JP"}
# Each size in each language in the light theme, and the phone in the dark one.
VARIANTS = [
    (f"{size}-{language}", SIZES[size], LANGUAGES[language], "light")
    for size in SIZES
    for language in LANGUAGES
] + [("phone-en-dark", SIZES["phone"], LANGUAGES["en"], "dark")]

# What a person would notice, measured in the page.
CHECKS = (Path(__file__).parent / "design_checks.js").read_text()


def screenshot_dir() -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/webmail-screens"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('main button[type="submit"]')
    page.wait_for_url(lambda url: "/login/" not in url)


def look_at(page: Page, name: str, problems: list[str]) -> None:
    page.wait_for_load_state("load")
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    problems.extend(f"{name}: {found}" for found in page.evaluate(CHECKS))


def shoot(
    browser: Browser,
    base: str,
    username: str | None,
    pages: dict[str, str | Callable[[Page], None]],
) -> list[str]:
    problems: list[str] = []
    for variant, (width, height), locale, scheme in VARIANTS:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale=locale,
            color_scheme=scheme,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            if username:
                sign_in(page, base, username)
            for name, where in pages.items():
                if callable(where):
                    where(page)
                else:
                    page.goto(base + where)
                look_at(page, f"{name}-{variant}", problems)
        finally:
            context.close()
    (screenshot_dir() / f"problems-{username or 'visitor'}.txt").write_text(
        "\n".join(problems)
    )
    return problems


@pytest.fixture
def furnished(alice: User) -> dict[str, Any]:
    """Alice's account with mail, a quota, an identity and an address book."""
    folders = standard_mailbox(alice)
    account = account_of(alice)
    AccountState.objects.update_or_create(
        account=account,
        defaults={
            "quota_used_kb": 11_366,
            "quota_limit_kb": 204_800,
            "open_connections": 2,
            "usage_at": timezone.now(),
            "folders_synced_at": timezone.now(),
        },
    )
    identity = Identity.objects.create(
        account=account, email="alice.work@example.org", name="Alice at work"
    )
    contact = Contact.objects.create(
        user=alice, name="Dana Scully", email="dana@example.net", search=""
    )
    Contact.objects.create(
        user=alice, name="山田太郎", email="taro@example.jp", search=""
    )
    return {
        "account": account.id,
        "inbox": folders["INBOX"].id,
        "identity": identity.id,
        "contact": contact.id,
    }


def test_signed_out_pages(live_app: str, browser: Browser, alice: User):
    def wrong_password(page: Page) -> None:
        page.goto(f"{live_app}/accounts/login/")
        page.fill('input[name="username"]', "alice")
        page.fill('input[name="password"]', "not the password")
        page.click('main button[type="submit"]')
        page.wait_for_selector(".error")

    problems = shoot(
        browser,
        live_app,
        None,
        {"sign-in": "/accounts/login/", "sign-in-refused": wrong_password},
    )
    assert not problems, problems


def test_a_users_pages(live_app: str, browser: Browser, furnished: dict[str, Any]):
    a = furnished["account"]

    def sign_out(page: Page) -> None:
        page.goto(f"{live_app}/accounts/settings/")
        page.click("header form[action$='/logout/'] button")
        page.wait_for_url("**/logout/**")

    def wrong_current_password(page: Page) -> None:
        page.goto(f"{live_app}/accounts/security/password/")
        page.fill('input[name="old_password"]', "not it")
        page.fill('input[name="new_password1"]', "short")
        page.fill('input[name="new_password2"]', "other")
        page.click('main button[type="submit"]')
        page.wait_for_selector(".field-error")

    pages: dict[str, str | Callable[[Page], None]] = {
        "mailbox": f"/mail/{a}/",
        "settings": "/accounts/settings/",
        "mail-accounts": "/accounts/mail/",
        "mail-account": f"/accounts/mail/{a}/",
        "mail-account-add": "/accounts/mail/add/",
        "mail-account-remove": f"/accounts/mail/{a}/delete/",
        "identities": f"/accounts/mail/{a}/identities/",
        "identity": f"/accounts/mail/{a}/identities/{furnished['identity']}/",
        "security": "/accounts/security/",
        "password": "/accounts/security/password/",
        "password-refused": wrong_current_password,
        "two-factor-setup": "/accounts/security/2fa/",
        "contacts": "/mail/contacts/",
        "contact": f"/mail/contacts/{furnished['contact']}/",
        "storage": f"/mail/{a}/storage/",
        "retention": f"/mail/{a}/retention/",
        "folders": f"/mail/{a}/folders/",
        "scheduled": f"/mail/{a}/scheduled/",
        "signed-out": sign_out,
    }
    problems = shoot(browser, live_app, "alice", pages)
    assert not problems, problems


def test_an_operators_pages(live_app: str, browser: Browser, furnished: dict[str, Any]):
    operator = make_user("operator")
    operator.is_staff = True
    operator.save()
    standard_mailbox(operator)
    TrustedCertificate.objects.create(
        host="mail.example.org",
        sha256="5d" * 32,
        subject="CN=mail.example.org",
        issuer="CN=mail.example.org",
        not_after=timezone.now(),
        trusted_by=operator,
    )
    alice = User.objects.get(username="alice")
    pages: dict[str, str | Callable[[Page], None]] = {
        "operator-mailbox": "/",
        "manage-users": "/manage/",
        "manage-user": f"/manage/users/{alice.id}/",
        "manage-new-user": "/manage/users/new/",
        "manage-import": "/manage/import/",
        "manage-audit": "/manage/audit/",
        "manage-certificates": "/manage/certificates/",
    }
    problems = shoot(browser, live_app, "operator", pages)
    assert not problems, problems
