"""Hard real-world mail in real Chromium: each message reads as its sender meant.

Charsets Japanese mail still arrives in, broken and deeply nested MIME,
forwarded, signed and calendar mail, TNEF, a huge and an empty message.
They go the real way (APPEND to Dovecot, worker sync, worker fetch, parse
and sanitize) and each must show its subject, sender, text and
attachments in the reading pane, never an error.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from playwright.sync_api import Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.mime.builders import b_word, corpus, jis, message, newsletter, tnef
from tests.ui.real_mail import sign_in_to_real_mailbox

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.usefixtures("worker"),
]


@dataclass
class Case:
    raw: bytes
    subject: str
    sender: str
    text: str
    attachments: tuple[str, ...] = ()


DATE = ("Date", b"Sat, 28 Nov 2026 10:00:00 +0900")
MIME = ("MIME-Version", b"1.0")


def iso2022jp(subject: str = "納品書ﾃｽﾄ") -> Case:
    body = "お世話になっております。\r\n①の件、㈱テストのｶﾀｶﾅです。\r\n"
    raw = message(
        [
            (
                "From",
                b_word("ISO-2022-JP", jis("株式会社サンプル")) + b" <info@example.jp>",
            ),
            ("To", b"buyer@example.com"),
            ("Subject", b_word("ISO-2022-JP", jis(subject))),
            DATE,
            MIME,
            ("Content-Type", b"text/plain; charset=ISO-2022-JP"),
            ("Content-Transfer-Encoding", b"7bit"),
        ],
        jis(body),
    )
    return Case(raw, subject, "株式会社サンプル", "①の件、㈱テストのｶﾀｶﾅです。")


def shift_jis() -> Case:
    raw = message(
        [
            ("From", b"Suzuki <suzuki@example.jp>"),
            ("Subject", b_word("Shift_JIS", "見積書の送付".encode("cp932"))),
            DATE,
            MIME,
            ("Content-Type", b"text/plain; charset=Shift_JIS"),
            ("Content-Transfer-Encoding", b"8bit"),
        ],
        "見積書を送付いたします。№1".encode("cp932"),
    )
    return Case(raw, "見積書の送付", "Suzuki", "見積書を送付いたします。")


def euc_jp() -> Case:
    raw = message(
        [
            ("From", b"Tanaka <tanaka@example.jp>"),
            ("Subject", b_word("EUC-JP", "会議の予定".encode("euc_jp"))),
            DATE,
            MIME,
            ("Content-Type", b"text/plain; charset=EUC-JP"),
            ("Content-Transfer-Encoding", b"8bit"),
        ],
        "会議は明日の十時からです。".encode("euc_jp"),
    )
    return Case(raw, "会議の予定", "Tanaka", "会議は明日の十時からです。")


def missing_charset() -> Case:
    raw = message(
        [
            ("From", b"Sato <sato@example.jp>"),
            ("Subject", b"No charset"),
            DATE,
            MIME,
            ("Content-Type", b"text/plain"),
            ("Content-Transfer-Encoding", b"8bit"),
        ],
        "日本語の本文です。宣言はありません。".encode(),
    )
    return Case(raw, "No charset", "Sato", "日本語の本文です。")


def deep_nesting(depth: int = 40) -> Case:
    body = b"Content-Type: text/plain; charset=utf-8\r\n\r\nDeep inside.\r\n"
    for level in range(depth):
        boundary = f"level{level}".encode()
        body = (
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
            b"--" + boundary + b"\r\n" + body + b"--" + boundary + b"--\r\n"
        )
    raw = b"From: Nest <nest@example.org>\r\nSubject: Nested\r\nMIME-Version: 1.0\r\n"
    return Case(raw + body, "Nested", "Nest", "Deep inside.")


def winmail() -> Case:
    blob = tnef([("report.txt", b"numbers\r\n")], body="Outlook body text")
    raw = message(
        [
            ("From", b"Outlook User <outlook@example.com>"),
            ("Subject", b"Report from Outlook"),
            DATE,
            MIME,
            ("Content-Type", b'multipart/mixed; boundary="t"'),
        ],
        b"--t\r\nContent-Type: text/plain\r\n\r\nSee the report.\r\n"
        b'--t\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\n'
        b'Content-Disposition: attachment; filename="winmail.dat"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(blob).replace(b"\n", b"\r\n")
        + b"--t--\r\n",
    )
    return Case(
        raw, "Report from Outlook", "Outlook User", "See the report.", ("report.txt",)
    )


def smime_signed() -> Case:
    raw = message(
        [
            ("From", b"Frank <frank@example.net>"),
            ("Subject", b"S/MIME signed"),
            DATE,
            MIME,
            (
                "Content-Type",
                b'multipart/signed; protocol="application/pkcs7-signature";'
                b' micalg=sha-256; boundary="s"',
            ),
        ],
        b"--s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Signed with a certificate.\r\n"
        b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
        b"MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAA==\r\n"
        b"--s--\r\n",
    )
    return Case(
        raw, "S/MIME signed", "Frank", "Signed with a certificate.", ("smime.p7s",)
    )


def huge() -> Case:
    # Larger than the whole-message fetch limit: the worker fetches parts.
    data = base64.encodebytes(bytes(range(256)) * 12_000).replace(b"\n", b"\r\n")
    raw = message(
        [
            ("From", b"Big Sender <big@example.org>"),
            ("Subject", b"Huge attachment"),
            DATE,
            MIME,
            ("Content-Type", b'multipart/mixed; boundary="h"'),
        ],
        b"--h\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"The scans are attached.\r\n"
        b"--h\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="scans.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"--h--\r\n",
    )
    return Case(
        raw, "Huge attachment", "Big Sender", "The scans are attached.", ("scans.bin",)
    )


def cases() -> list[Case]:
    return [
        iso2022jp(),
        shift_jis(),
        euc_jp(),
        missing_charset(),
        Case(
            corpus("wrong_charset_latin1.eml"),
            "Grüße aus Köln",
            "Grace",
            "Schöne Grüße, café €5.",
        ),
        Case(
            corpus("split_encoded_word.eml"),
            "会議の議事録について",
            "山田 太郎",
            "Minutes attached.",
        ),
        Case(
            corpus("rfc2231_filename.eml"),
            "Quote",
            "Sales",
            "Please find the quote attached.",
            ("見積書_2024年度.pdf", "ロゴ画像.png"),
        ),
        Case(
            corpus("broken_boundary.eml"),
            "Boundary mismatch",
            "Broken Mailer",
            "The text a reader should still see.",
            ("report.zip",),
        ),
        Case(
            corpus("missing_end_boundary.eml"),
            "Cut off in transit",
            "Truncated",
            "Hello before the cut.",
            ("big.pdf",),
        ),
        deep_nesting(),
        Case(
            corpus("forwarded.eml"),
            "Fwd: Lunch on Friday",
            "Alice Example",
            "See below.",
            ("Lunch on Friday.eml",),
        ),
        Case(corpus("related_cid.eml"), "Our logo", "Newsletter", "Our logo:"),
        winmail(),
        Case(
            corpus("calendar_invite.eml"),
            "Invitation: Planning meeting",
            "Organizer",
            "Planning meeting",
            ("invite.ics",),
        ),
        Case(
            corpus("signed.eml"),
            "Signed note",
            "Dave Example",
            "This note is signed.",
            ("signature.asc",),
        ),
        smime_signed(),
        huge(),
        Case(corpus("headers_only.eml"), "headers only", "nobody@example.com", ""),
    ]


def test_hard_mail_reads_as_the_sender_meant(
    live_app: str, page: Page, imap_user: ImapUser, other_device, settings
):
    settings.BODY_FETCH_TIMEOUT = 30
    all_cases = cases()
    mailbox = sign_in_to_real_mailbox(
        page, live_app, imap_user, other_device(imap_user), [c.raw for c in all_cases]
    )
    problems = {}
    for uid, case in enumerate(all_cases, start=1):
        frame = mailbox.open(uid)
        reader = page.locator("#reader")
        if case.text:
            expect(frame.locator("body")).to_contain_text(case.text)
        seen = {
            "error": reader.locator(".notice.error").all_inner_texts(),
            "subject": reader.locator("h2.subject").inner_text(),
            "from": reader.locator("dd.from").inner_text(),
            "attachments": reader.locator("ul.attachments li a").all_inner_texts(),
        }
        wrong = (
            seen["error"]
            or seen["subject"] != case.subject
            or case.sender not in seen["from"]
            or not set(case.attachments) <= set(seen["attachments"])
        )
        if wrong:
            problems[case.subject] = seen
    assert problems == {}


def test_an_iso_2022_jp_subject_with_nec_characters_reads_right(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    case = iso2022jp("①納品書㈱ﾃｽﾄ")
    mailbox = sign_in_to_real_mailbox(
        page, live_app, imap_user, other_device(imap_user), [case.raw]
    )
    # The row's subject starts with a hidden "Unread:" for screen readers.
    expect(page.locator("#m1 .subject")).to_contain_text(case.subject, timeout=2_000)
    mailbox.open(1)
    expect(page.locator("#reader h2.subject")).to_have_text(case.subject)


def test_an_attached_message_reads_inline_and_its_files_download(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [corpus("forwarded.eml")],
    )
    frame = mailbox.open(1)
    expect(frame.locator("body")).to_contain_text("See below.")
    attached = frame.locator("section.forwarded")
    headers = attached.locator(".forwarded-headers")
    expect(headers).to_contain_text("Carol Example <carol@example.org>")
    expect(headers).to_contain_text("Lunch on Friday")
    expect(attached.locator(".forwarded-body")).to_have_text("Shall we meet at noon?")
    expect(attached.locator(".forwarded-files")).to_contain_text("menu.txt")
    # Offered as a file still, and its own file downloads from the list.
    links = page.locator("#reader ul.attachments a[download]")
    expect(links).to_have_text(["Lunch on Friday.eml", "menu.txt"])
    with page.expect_download() as download_info:
        links.nth(1).click()
    download = download_info.value
    assert download.suggested_filename == "menu.txt"
    assert download.path().read_bytes().strip() == b"Soup, salad, bread."
    # The print page shows it too.
    page.goto(f"{mailbox.folder_url}1/print")
    expect(page.locator("div.body .forwarded-body")).to_have_text(
        "Shall we meet at noon?"
    )


def test_a_newsletter_too_large_to_show_whole_shows_its_start_and_a_note(
    live_app: str, page: Page, imap_user: ImapUser, other_device, settings
):
    settings.BODY_FETCH_TIMEOUT = 30
    raw = newsletter(5 * 1024 * 1024)
    mailbox = sign_in_to_real_mailbox(
        page, live_app, imap_user, other_device(imap_user), [raw]
    )
    frame = mailbox.open(1)
    expect(frame.locator("body")).to_contain_text("Top story: the start of it all.")
    expect(frame.locator("a").first).to_have_text("Item")
    note = page.locator("#reader .notice.cut")
    expect(note).to_contain_text("only its start is shown")
    link = note.locator("a[download]")
    expect(link).to_have_text("Download the whole message (.eml)")
    with page.expect_download() as download_info:
        link.click()
    assert download_info.value.path().stat().st_size >= len(raw) - 1_000
    page.goto(f"{mailbox.folder_url}1/print")
    expect(page.locator("div.body")).to_contain_text("Top story")
    expect(page.locator("p.cut")).to_contain_text("only its start is shown")
