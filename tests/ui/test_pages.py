"""The mailbox pages as the server renders them: content, access, headers."""

from __future__ import annotations

import base64
import hashlib
import html as entities
import re

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from webmail.mail import proxy, status
from webmail.models import OperationKind, OperationState, PendingOperation

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, str]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


def frame_document(page: str) -> str:
    """Return the body frame's document that the reading pane carries."""
    match = re.search(r'<iframe class="body" srcdoc="([^"]*)"', page)
    assert match, "the pane has no body frame with a srcdoc"
    return entities.unescape(match[1])


@pytest.fixture
def alice_client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_home_shows_the_inbox_of_the_first_account(alice: User, alice_client):
    folders = standard_mailbox(alice)
    response = alice_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lunch on Friday?" in html
    assert "Signed in as alice." in html
    inbox = folders["INBOX"]
    assert f'data-refresh-url="/mail/{inbox.account_id}/{inbox.id}/"' in html


def test_an_account_without_folders_yet_gets_a_wait_page(alice: User, alice_client):
    response = alice_client.get("/")
    assert response.status_code == 200
    assert "being loaded from the mail server" in response.content.decode()
    assert '<meta http-equiv="refresh"' in response.content.decode()


def test_the_list_shows_unread_flagged_and_marked_messages(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    page = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content
    html = page.decode()
    classes = dict(re.findall(r'<li id="m(\d+)" class="([^"]*)"', html))
    assert "unread" in classes["2"] and "flagged" in classes["2"]
    assert "unread" not in classes["1"]
    assert 'aria-label="Has attachments"' in html
    assert 'aria-label="Answered"' in html
    assert "山田太郎" in html
    assert "Preview of Quarterly report" in html


def test_the_list_is_newest_first(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    html = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content
    uids = re.findall(r'<li id="m(\d+)"', html.decode())
    assert uids == ["1", "2", "3", "4"]


def test_the_folder_tree_lists_special_folders_first_with_counts(
    alice: User, alice_client
):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    html = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content
    names = re.findall(r'<span class="name">([^<]*)</span>', html.decode())
    assert names == ["Inbox", "Drafts", "Sent", "Archive", "Trash", "Projects", "Beta"]
    assert 'class="depth-1"' in html.decode()
    assert '<span class="count"' in html.decode()


def test_a_message_has_its_own_url_and_is_marked_read(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    response = alice_client.get(f"/mail/{account.id}/{inbox.id}/2/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h2 class="subject" tabindex="-1">Lunch on Friday?</h2>' in html
    # The body comes in the same answer, as the frame's document.
    assert "Hello <b>Alice</b>" in frame_document(html)
    assert inbox.messages.get(uid=2).seen
    # It has its own URL as well (new tabs, links, a conversation's frames).
    body = alice_client.get(f"/mail/{account.id}/{inbox.id}/2/body")
    assert "Hello <b>Alice</b>" in body.content.decode()


def test_bob_cannot_reach_alices_mail(alice: User, bob: User):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    client = Client()
    client.force_login(bob)
    base = f"/mail/{account.id}/{inbox.id}/"
    for path in (f"/mail/{account.id}/", base, f"{base}2/", f"{base}2/body"):
        assert client.get(path).status_code == 404, path
    for path in (f"{base}2/flag", f"{base}2/delete", f"{base}2/allow-sender"):
        assert client.post(path, {"flagged": "1"}).status_code == 404, path
    assert not inbox.messages.get(uid=2).seen
    assert inbox.messages.filter(uid=2).exists()


def test_a_folder_of_another_account_is_not_found(alice: User, bob: User, alice_client):
    standard_mailbox(alice)
    bobs_folder = add_folder(account_of(bob), "INBOX")
    add_message(bobs_folder, 1, "Bob's secret")
    account = account_of(alice)
    response = alice_client.get(f"/mail/{account.id}/{bobs_folder.id}/1/")
    assert response.status_code == 404


def test_the_page_policy_allows_no_inline_script(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    response = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/2/")
    directives = policy(response)
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()
    assert not re.search(r"\son[a-z]+=", response.content.decode())


def test_the_body_frame_has_its_own_strict_policy(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    response = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/2/body")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'none'"
    assert directives["style-src"] == "'unsafe-inline'"
    assert directives["img-src"] == "'self' data:"
    assert directives["frame-ancestors"] == "'self'"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_panes_body_document_states_the_same_strict_policy(
    alice: User, alice_client
):
    folders = standard_mailbox(alice)
    base = f"/mail/{account_of(alice).id}/{folders['INBOX'].id}/2/"
    header = policy(alice_client.get(base + "body"))
    document = frame_document(alice_client.get(base).content.decode())
    stated = re.search(
        r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', document
    )
    assert stated
    # The first thing in the document: it holds for all the message's markup.
    assert document.index(stated[0]) < document.index("<title>")
    directives = {}
    for part in entities.unescape(stated[1]).split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    # frame-ancestors: a <meta> may not set it; a srcdoc is framed by the page.
    assert directives == {k: v for k, v in header.items() if k != "frame-ancestors"}


def test_the_page_policy_allows_the_body_frame_only_its_own_styles(
    alice: User, alice_client
):
    """The srcdoc frame inherits it: style attributes and its one stylesheet."""
    folders = standard_mailbox(alice)
    base = f"/mail/{account_of(alice).id}/{folders['INBOX'].id}/2/"
    response = alice_client.get(base)
    directives = policy(response)
    assert directives["style-src"] == "'self'"
    assert directives["style-src-attr"] == "'unsafe-inline'"
    document = frame_document(response.content.decode())
    style = re.search(r"<style>(.*?)</style>", document, re.S)
    assert style
    digest = base64.b64encode(hashlib.sha256(style[1].encode()).digest()).decode()
    assert directives["style-src-elem"] == f"'self' 'sha256-{digest}'"


def test_the_frame_is_sandboxed_without_scripts_or_same_origin(
    alice: User, alice_client
):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    html = alice_client.get(f"/mail/{account.id}/{folders['INBOX'].id}/2/").content
    sandbox = re.search(r'<iframe[^>]* sandbox="([^"]*)"', html.decode()).group(1)
    assert "allow-scripts" not in sandbox
    assert "allow-same-origin" not in sandbox


def test_starring_a_message_updates_the_cache(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    inbox = folders["INBOX"]
    response = alice_client.post(
        f"/mail/{account.id}/{inbox.id}/1/flag", {"flagged": "1"}
    )
    assert response.status_code == 302
    assert inbox.messages.get(uid=1).flagged
    alice_client.post(f"/mail/{account.id}/{inbox.id}/1/flag", {"flagged": "0"})
    assert not inbox.messages.get(uid=1).flagged


def test_pages_speak_japanese_to_a_japanese_browser(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    html = alice_client.get(
        f"/mail/{account.id}/{folders['INBOX'].id}/", HTTP_ACCEPT_LANGUAGE="ja"
    ).content.decode()
    assert '<html lang="ja">' in html
    assert "受信トレイ" in html
    assert "Inbox" not in html


def test_signed_out_visitors_go_to_sign_in(alice: User):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    response = Client().get(f"/mail/{account.id}/{folders['INBOX'].id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_remote_images_are_blocked_until_the_user_asks(alice: User, alice_client):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    base = f"/mail/{account.id}/{folders['INBOX'].id}/2/"
    page = alice_client.get(base).content.decode()
    assert "Remote images are blocked" in page
    for body in (frame_document(page), alice_client.get(base + "body").content):
        body = body if isinstance(body, str) else body.decode()
        assert "tracker.example.com" not in body
        assert "<script" not in body
        assert 'target="_blank"' in body and 'rel="noopener noreferrer"' in body

    shown_pane = alice_client.get(base + "?images=show").content.decode()
    shown_frame = alice_client.get(base + "body?images=show").content.decode()
    for shown in (frame_document(shown_pane), shown_frame):
        assert "tracker.example.com" not in shown
        proxied = re.search(rf'<img src="(/mail/image/{alice.pk}/[^"]+)"', shown)
        assert proxied
        assert proxy.unsign(alice.pk, proxied[1].rsplit("/", 1)[1]) == (
            "https://tracker.example.com/open.gif"
        )


def test_always_showing_a_senders_images_lasts_across_messages(
    alice: User, alice_client
):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    base = f"/mail/{account.id}/{folders['INBOX'].id}/"
    alice_client.post(f"{base}2/allow-sender")
    page = alice_client.get(f"{base}3/").content.decode()
    assert "Remote images are blocked" not in page
    assert "/mail/image/" in frame_document(page)
    assert "/mail/image/" in alice_client.get(f"{base}3/body").content.decode()


def test_older_messages_continue_where_the_page_ended(alice: User, alice_client):
    folder = add_folder(account_of(alice), "INBOX")
    for uid in range(1, 61):
        add_message(folder, uid, f"Message {uid}")
    url = f"/mail/{folder.account_id}/{folder.id}/"
    first = alice_client.get(url).content.decode()
    uids = [int(u) for u in re.findall(r'<li id="m(\d+)"', first)]
    assert uids == list(range(1, 51))
    older = re.search(r'<a class="older" href="([^"]+)"', first).group(1)
    second = alice_client.get(older.replace("&amp;", "&")).content.decode()
    assert [int(u) for u in re.findall(r'<li id="m(\d+)"', second)] == list(
        range(51, 61)
    )
    assert 'class="older"' not in second


def test_the_search_box_narrows_the_list(alice: User, alice_client):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    html = alice_client.get(
        f"/mail/{inbox.account_id}/{inbox.id}/", {"q": "lunch"}
    ).content.decode()
    assert re.findall(r'<li id="m(\d+)"', html) == ["2"]
    assert "matching “lunch”" in html


def test_a_refused_change_is_shown_until_dismissed(alice: User, alice_client):
    folders = standard_mailbox(alice)
    inbox = folders["INBOX"]
    account = account_of(alice)
    failed = PendingOperation.objects.create(
        account=account,
        kind=OperationKind.MOVE,
        folder=inbox,
        folder_name="INBOX",
        uidvalidity=1,
        uids=[1, 2],
        state=OperationState.FAILED,
        last_error="Mailbox is full.",
    )
    url = f"/mail/{account.id}/{inbox.id}/"
    html = alice_client.get(url).content.decode()
    assert "The server refused a change to 2 messages in INBOX." in html
    assert "Mailbox is full." in html
    alice_client.post(f"/mail/{account.id}/failures/{failed.id}/dismiss")
    assert "Mailbox is full." not in alice_client.get(url).content.decode()


def test_changes_refused_alike_are_one_notice_dismissed_whole(
    alice: User, alice_client
):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)

    def refused(uids: list[int], error: str, folder: str = "INBOX") -> int:
        return PendingOperation.objects.create(
            account=account,
            kind=OperationKind.FLAGS,
            folder=inbox,
            folder_name=folder,
            uidvalidity=1,
            uids=uids,
            state=OperationState.FAILED,
            last_error=error,
        ).id

    rebuilt = 'The folder "INBOX" was rebuilt on the server.'
    for uids in ([1], [2], [2, 3]):
        refused(uids, rebuilt)
    refused([4], "Mailbox is full.")
    url = f"/mail/{account.id}/{inbox.id}/"
    html = alice_client.get(url).content.decode()
    assert html.count("was rebuilt on the server") == 1
    assert "The server refused a change to 3 messages in INBOX." in html
    assert "The server refused a change to 1 message in INBOX." in html
    (notice,) = (f for f in status.failed_operations(account) if f.uids != [4])
    # One more refused while the page was open: not hidden unseen.
    later = refused([4], rebuilt)
    alice_client.post(f"/mail/{account.id}/failures/{notice.id}/dismiss")
    left = {f.id: f.uids for f in status.failed_operations(account)}
    assert left[later] == [4] and len(left) == 2
    assert "Mailbox is full." in alice_client.get(url).content.decode()


def test_bob_cannot_dismiss_alices_failures(alice: User, bob: User):
    folders = standard_mailbox(alice)
    account = account_of(alice)
    failed = PendingOperation.objects.create(
        account=account,
        kind=OperationKind.FLAGS,
        folder=folders["INBOX"],
        folder_name="INBOX",
        uidvalidity=1,
        uids=[1],
        state=OperationState.FAILED,
    )
    client = Client()
    client.force_login(bob)
    response = client.post(f"/mail/{account.id}/failures/{failed.id}/dismiss")
    assert response.status_code == 404
    failed.refresh_from_db()
    assert not failed.dismissed


def test_list_dates_show_the_time_today_and_the_day_before(alice: User, alice_client):
    from datetime import timedelta

    from django.utils import timezone

    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    now = timezone.now().replace(hour=12, minute=34, second=0)
    last_year = now.replace(year=now.year - 1, month=3, day=9)
    add_message(inbox, 1, "Today", date=now)
    add_message(inbox, 2, "Last year, morning", date=last_year)
    add_message(inbox, 3, "Last year, evening", date=last_year + timedelta(hours=8))

    def shown(language: str) -> dict[str, str]:
        html = alice_client.get(
            f"/mail/{account.id}/{inbox.id}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        rows = re.findall(r'<li id="m(\d+)".*?<time [^>]*>([^<]*)</time>', html, re.S)
        return dict(rows)

    english = shown("en")
    assert english["1"] == "12:34 p.m."
    assert english["2"] == english["3"] == f"03/09/{last_year.year}"
    japanese = shown("ja")
    assert japanese["1"] == "12:34"
    assert japanese["2"] == japanese["3"] == f"{last_year.year}/03/09"
