"""To, Cc and Bcc as address chips with suggestions, in a real browser."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Identity, User
from tests.ui.mail import account_of, standard_mailbox
from tests.ui.test_browser import sign_in
from webmail.engine.addresses import Use, record_uses
from webmail.mime.vcard import read_vcards
from webmail.models import Contact, OutgoingMessage
from webmail.shared.addresses import search_text

pytestmark = pytest.mark.browser


@pytest.fixture
def people(alice: User) -> None:
    standard_mailbox(alice)
    now = timezone.now()
    record_uses(
        alice.id,
        [Use("hanako@example.jp", "山田 花子", now)] * 3
        + [Use("hank@example.net", "Hank Hill", now)],
    )
    Contact.objects.create(
        user=alice,
        name="Hana Book",
        email="hana.book@example.org",
        search=search_text("hana.book@example.org", "Hana Book"),
    )


def _chips(page: Page, field: str) -> list[str]:
    return (
        page.locator(f"#compose-{field}")
        .locator("xpath=..")
        .locator(".chip")
        .evaluate_all("chips => chips.map(c => c.dataset.value)")
    )


def test_typing_offers_addresses_and_keys_make_chips(
    page: Page, live_app: str, alice: User, people: None
):
    account = account_of(alice)
    sign_in(page, live_app)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    to = page.locator("#compose-to")

    to.press_sequentially("han")
    options = page.locator("#compose-to-suggestions [role=option]")
    expect(options).to_have_count(3)
    # The address book first, then by how often and how recently.
    expect(options.nth(0)).to_contain_text("Hana Book")
    expect(options.nth(1)).to_contain_text("山田 花子")
    expect(options.nth(2)).to_contain_text("Hank Hill")
    to.press("ArrowDown")
    to.press("Enter")
    expect(page.locator(".chip", has_text="山田 花子")).to_be_visible()
    expect(options).to_have_count(0)

    # A typed address becomes a chip at a comma; Backspace takes the last one back.
    to.press_sequentially("bob@example.org,")
    to.press_sequentially("wrong@example.org")
    to.press("Enter")
    assert _chips(page, "to") == [
        '"山田 花子" <hanako@example.jp>',
        "bob@example.org",
        "wrong@example.org",
    ]
    to.press("Backspace")
    assert len(_chips(page, "to")) == 2

    # Japanese typed in Cc finds the name's words; a click picks it.
    cc = page.locator("#compose-cc")
    cc.press_sequentially("花子")
    page.locator("#compose-cc-suggestions [role=option]").first.dispatch_event(
        "mousedown"
    )
    assert _chips(page, "cc") == ['"山田 花子" <hanako@example.jp>']

    page.fill("#compose-subject", "チップのテスト")
    page.click("button[data-action=send]")
    page.wait_for_url(f"**/mail/{account.id}/compose/sent/*")

    row = OutgoingMessage.objects.get(account=account)
    sent = email.message_from_bytes(bytes(row.raw), policy=policy.default)
    assert sent["To"] == "山田 花子 <hanako@example.jp>, bob@example.org"
    assert sent["Cc"] == "山田 花子 <hanako@example.jp>"
    assert sorted(row.recipients) == ["bob@example.org", "hanako@example.jp"]


def test_choosing_another_identity_swaps_the_signature(
    page: Page, live_app: str, alice: User
):
    standard_mailbox(alice)
    account = account_of(alice)
    Identity.objects.create(
        account=account,
        email="alice@example.org",
        signature="Alice, Work Inc.",
        is_default=True,
    )
    home = Identity.objects.create(
        account=account, name="アリス", email="alice@home.example", signature="アリス"
    )
    sign_in(page, live_app)
    page.goto(f"{live_app}/mail/{account.id}/compose/")
    body = page.locator("#compose-body")
    expect(body).to_have_value("\n\n-- \nAlice, Work Inc.")
    body.press("Control+Home")
    body.press_sequentially("Hello")

    page.select_option("#compose-identity", str(home.id))

    expect(body).to_have_value("Hello\n\n-- \nアリス")


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:山田 花子\r\nN:山田;花子;;;\r\n"
    "EMAIL;TYPE=INTERNET:hanako@example.jp\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:鈴木 一郎\\, 営業部\r\n"
    "EMAIL:suzuki@example.jp\r\nEND:VCARD\r\n"
).encode()


def test_a_vcard_file_imported_on_the_page_is_listed_and_exported(
    page: Page, live_app: str, alice: User, tmp_path
):
    standard_mailbox(alice)
    sign_in(page, live_app)
    picked = tmp_path / "連絡先.vcf"
    picked.write_bytes(VCARDS)
    page.goto(f"{live_app}/mail/contacts/")

    page.set_input_files('input[name="file"]', str(picked))
    page.get_by_role("button", name="Import").click()

    expect(page.locator("main")).to_contain_text("2 entries added.")
    rows = page.locator("table.contacts tbody tr")
    expect(rows).to_have_count(2)
    listed = rows.evaluate_all(
        "rows => rows.map(r => [...r.cells].slice(0, 2).map(c => c.textContent))"
    )
    assert sorted(listed) == [
        ["山田 花子", "hanako@example.jp"],
        ["鈴木 一郎, 営業部", "suzuki@example.jp"],
    ]
    with page.expect_download() as download:
        page.get_by_role("link", name="Export the address book (.vcf)").click()
    exported = read_vcards(Path(download.value.path()).read_bytes())
    assert sorted((c.name, c.emails) for c in exported) == [
        ("山田 花子", ("hanako@example.jp",)),
        ("鈴木 一郎, 営業部", ("suzuki@example.jp",)),
    ]
