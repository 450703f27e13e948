"""The quota meter and the storage page on a real Dovecot with a 1 MB quota."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from devtools.dovecot import start_dovecot
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    subscribe,
    wait_for,
    worker,
)
from tests.fixtures.servers import SUBMISSION_LOGIN, ImapUser
from tests.ui.storage_mail import (
    KB,
    fill_near_quota,
    padded,
    server_quota_kb,
    server_sizes,
    sync_all,
)
from webmail.engine import publish
from webmail.mail import changes, compose
from webmail.mime.compose import FileToSend, Outgoing, Recipient
from webmail.models import Message, OperationState, OutgoingMessage, PendingOperation
from webmail.shared import events
from webmail.views.sizes import readable_size

pytestmark = pytest.mark.django_db(transaction=True)


def _near_full(make_imap_user, other_device):
    imap_user = make_imap_user(quota_mb=1)
    phone = other_device(imap_user)
    fill_near_quota(phone)
    account = account_for(imap_user)
    folders = sync_all(account.id)
    client = Client()
    client.force_login(account.user)
    return phone, account, folders, client


def _refused(account, what: str) -> PendingOperation:
    """Wait for the account's operation that the server refused."""
    return wait_for(
        lambda: PendingOperation.objects.filter(
            account=account, state=OperationState.FAILED
        ).first(),
        what=what,
    )


def _text(page: bytes) -> str:
    return html.unescape(re.sub(r"\s+", " ", page.decode()))


def _quota_link(page: str) -> str:
    found = re.search(r'<a class="quota[^"]*".*?</a>', page)
    assert found, "no quota meter on the page"
    return found.group(0)


def _rows(page: str, list_id: str) -> list[str]:
    """Return the subjects of a message list of the storage page, in order."""
    section = page.split(f'id="{list_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(
        r'<td class="subject"><a id="[^"]*" href="[^"]*">([^<]*)</a>', section
    )


def _row_id(page: str, subject: str) -> str:
    found = re.search(
        r'<tr data-message="(\d+)">(?:(?!</tr>).)*>' + re.escape(subject) + "<", page
    )
    assert found, subject
    return found.group(1)


def test_the_meter_shows_the_servers_figures_and_warns_past_80_percent(
    make_imap_user, other_device
):
    phone, account, folders, client = _near_full(make_imap_user, other_device)
    used_kb, limit_kb = server_quota_kb(phone)
    assert 0.8 <= used_kb / limit_kb < 0.95

    page = _text(client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content)

    meter = _quota_link(page)
    assert f"{readable_size(used_kb * KB)} of 1 MB" in meter
    assert 'class="quota warn"' in meter
    assert f'href="/mail/{account.id}/storage/"' in meter
    assert "Your mailbox is filling up." in meter


def test_the_meter_turns_to_an_alarm_at_95_percent_after_the_next_list_sync(
    make_imap_user,
    other_device,
    subscribe,  # noqa: F811 (the fixture)
):
    phone, account, folders, client = _near_full(make_imap_user, other_device)
    heard = subscribe(account.user_id)
    phone.append("Archive", padded("Another scan", 150))

    publish.sync_folder_list_and_publish(account.id)

    # Open pages hear of it (they re-read the tree and the meter beside it),
    # though the folder list itself is as it was.
    heard.wait(lambda event: event["type"] == events.FOLDERS)
    used_kb, limit_kb = server_quota_kb(phone)
    assert used_kb / limit_kb >= 0.95
    meter = _quota_link(
        _text(client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content)
    )
    assert f"{readable_size(used_kb * KB)} of 1 MB" in meter
    assert 'class="quota full"' in meter


def test_no_meter_where_the_server_sets_no_limit(imap_user, other_device):
    phone = other_device(imap_user)
    phone.append("INBOX", padded("Hello", 1))
    account = account_for(imap_user)
    folders = sync_all(account.id)
    client = Client()
    client.force_login(account.user)
    account.sync_state.quota_limit_kb = None
    account.sync_state.save()

    page = client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content.decode()
    assert 'class="quota' not in page
    storage = _text(client.get(f"/mail/{account.id}/storage/").content)
    assert "sets no storage limit" in storage


def test_the_storage_page_lists_folder_sizes_and_the_largest_messages(
    make_imap_user, other_device
):
    phone, account, _, client = _near_full(make_imap_user, other_device)
    inbox = server_sizes(phone, "INBOX")
    archive = server_sizes(phone, "Archive")

    page = _text(client.get(f"/mail/{account.id}/storage/").content)

    table = page.split('class="storage-folders"', 1)[1].split("</table>", 1)[0]
    lines = re.findall(
        r'<tr><td><a href="[^"]*">([^<]*)</a>.*?<td class="number">(\d+)</td>'
        r'<td class="number">([^<]*)</td></tr>',
        table,
    )
    assert lines[:2] == [
        ("Inbox", str(len(inbox)), readable_size(sum(inbox.values()))),
        ("Archive", str(len(archive)), readable_size(sum(archive.values()))),
    ]
    everything = {**inbox, **archive}
    by_size = sorted(everything, key=everything.__getitem__, reverse=True)
    assert _rows(page, "largest") == by_size
    assert _rows(page, "attachments") == ["Big report", "Holiday photos"]
    before = page.split("Big report</a>", 1)[0].rsplit("<tr", 1)[1]
    assert readable_size(inbox["Big report"]) in before
    after = page.split("Big report</a>", 1)[1].split("</tr>", 1)[0]
    assert "Erin Big" in after
    assert "Inbox" in after


@pytest.mark.usefixtures("worker")
def test_deleting_from_the_storage_page_reaches_the_server(
    make_imap_user, other_device
):
    phone, account, _, client = _near_full(make_imap_user, other_device)
    page = _text(client.get(f"/mail/{account.id}/storage/").content)
    big = _row_id(page, "Big report")

    done = client.post(
        f"/mail/{account.id}/storage/delete", {"message": [big]}, follow=True
    )
    assert "1 message moved to Trash." in _text(done.content)
    assert "Big report" not in _rows(_text(done.content), "largest")
    wait_for(
        lambda: "Big report" in server_sizes(phone, "Trash"), what="moved to Trash"
    )
    assert "Big report" not in server_sizes(phone, "INBOX")

    # In Trash, a delete is for good: the page asks first, saying how many.
    sync_all(account.id)
    page = _text(client.get(f"/mail/{account.id}/storage/").content)
    in_trash = _row_id(page, "Big report")
    minutes = _row_id(page, "Long minutes")
    asked = _text(
        client.post(
            f"/mail/{account.id}/storage/delete", {"message": [in_trash, minutes]}
        ).content
    )
    assert (
        "1 selected message is in Trash or Junk: it will be deleted for good" in asked
    )
    assert "The other 1 goes to Trash." in asked
    assert "Big report" in server_sizes(phone, "Trash")  # nothing yet

    done = client.post(
        f"/mail/{account.id}/storage/delete",
        {"message": [in_trash, minutes], "confirm": "1"},
        follow=True,
    )
    said = _text(done.content)
    assert "1 message moved to Trash." in said
    assert "1 message deleted for good." in said
    wait_for(
        lambda: set(server_sizes(phone, "Trash")) == {"Long minutes"},
        what="deleted for good, the other in Trash",
    )
    used_kb, _ = server_quota_kb(phone)
    assert used_kb < 600  # the 300 KB report is gone from the quota


def test_another_users_messages_are_not_deleted(make_imap_user, other_device):
    _, account, _, _ = _near_full(make_imap_user, other_device)
    theirs = Message.objects.filter(folder__account=account).values_list(
        "id", flat=True
    )
    other = account_for(make_imap_user())
    intruder = Client()
    intruder.force_login(other.user)

    done = intruder.post(
        f"/mail/{other.id}/storage/delete", {"message": list(theirs)}, follow=True
    )
    assert "No messages needed changing." in _text(done.content)
    assert Message.objects.filter(id__in=list(theirs)).count() == len(theirs)
    assert not PendingOperation.objects.exists()


@pytest.mark.usefixtures("worker")
def test_a_copy_refused_for_a_full_mailbox_says_so_and_loses_nothing(
    make_imap_user, other_device
):
    phone, account, folders, client = _near_full(make_imap_user, other_device)
    inbox, archive = folders["INBOX"], folders["Archive"]
    photos = Message.objects.get(folder=inbox, subject="Holiday photos")

    assert changes.copy_messages(account, inbox, [photos.uid], archive) == 1

    operation = _refused(account, "the copy refused")
    assert operation.error_kind == "OverQuota"
    page = _text(client.get(f"/mail/{account.id}/{inbox.id}/").content)
    assert "1 message could not be copied to Archive: the mailbox is full." in page
    notice = page.split("could not be copied", 1)[1].split("</div>", 1)[0]
    assert f'href="/mail/{account.id}/storage/">Free up space</a>' in notice
    # Nothing lost, nothing doubled: on the server and in the cache.
    assert "Holiday photos" in server_sizes(phone, "INBOX")
    assert "Holiday photos" not in server_sizes(phone, "Archive")
    assert Message.objects.filter(folder=inbox, uid=photos.uid).exists()


@pytest.mark.usefixtures("worker")
def test_a_move_refused_for_a_full_mailbox_says_so_and_loses_nothing(
    dovecot_workdir, mail_certs, other_device
):
    # Dovecot refuses a MOVE for quota only into a quota root that the
    # source folder is not in: the "Attic/" folders have one of 100 KiB.
    server = start_dovecot(
        dovecot_workdir, tls_dir=mail_certs.ca_cert.parent, attic_kb=100
    )
    try:
        erin = ImapUser("erin@example.org", "erins-mail-password", server)
        server.add_user(erin.username, erin.password)
        phone = other_device(erin)
        phone.create_folder("Attic/2026")
        phone.append("INBOX", padded("Holiday photos", 220, attachment=True))
        phone.append("INBOX", padded("Short note", 1))
        account = account_for(erin)
        folders = sync_all(account.id)
        inbox, attic = folders["INBOX"], folders["Attic/2026"]
        photos = Message.objects.get(folder=inbox, subject="Holiday photos")
        client = Client()
        client.force_login(account.user)

        assert changes.move_messages(account, inbox, [photos.uid], attic) == 1
        assert not Message.objects.filter(folder=inbox, uid=photos.uid).exists()

        operation = _refused(account, "the move refused")
        assert operation.error_kind == "OverQuota"
        # The worker puts the message back in the list once refused.
        wait_for(
            lambda: Message.objects.filter(folder=inbox, uid=photos.uid).exists(),
            what="the message back in INBOX's list",
        )
        page = _text(client.get(f"/mail/{account.id}/{inbox.id}/").content)
        assert (
            "1 message could not be moved to Attic/2026: the mailbox is full. "
            "It is still in INBOX."
        ) in page
        notice = page.split("could not be moved", 1)[1].split("</div>", 1)[0]
        assert f'href="/mail/{account.id}/storage/">Free up space</a>' in notice
        rows = page.split('<ol class="messages">', 1)[1]
        assert "Holiday photos" in rows
        # Nothing lost, nothing doubled on the server.
        assert "Holiday photos" in server_sizes(phone, "INBOX")
        assert "Holiday photos" not in server_sizes(phone, "Attic/2026")
    finally:
        server.stop()


@pytest.mark.usefixtures("worker")
def test_a_sent_copy_refused_for_a_full_mailbox_says_so(
    make_imap_user, other_device, submission_outbox
):
    phone, account, _, client = _near_full(make_imap_user, other_device)
    login, password = SUBMISSION_LOGIN
    account.smtp_host = submission_outbox.host
    account.smtp_port = submission_outbox.port
    account.smtp_security = "starttls"
    account.smtp_username = login
    account.smtp_password = password
    account.save()
    outgoing = Outgoing(
        sender=Recipient("", "ignored@example.org"),
        to=(Recipient("", "hanako@example.jp"),),
        subject="The plans",
        text="Attached.\n",
        files=(FileToSend("plans.bin", bytes(range(256)) * 1200),),
    )

    row = compose.send_message(account, outgoing)

    wait_for(
        lambda: OutgoingMessage.objects.get(id=row.id).sent_copy,
        what="the Sent copy tried",
    )
    # The message went out; only its copy in Sent was refused.
    assert [list(m.rcpt_tos) for m in submission_outbox.messages] == [
        ["hanako@example.jp"]
    ]
    assert "The plans" not in server_sizes(phone, "Sent")
    page = _text(client.get(f"/mail/{account.id}/compose/sent/{row.id}").content)
    assert "Sent" in page
    assert "No copy was saved in Sent: the mailbox is full." in page
    assert f'href="/mail/{account.id}/storage/">Free up space</a>' in page
