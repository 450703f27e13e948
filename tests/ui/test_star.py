"""Starring a message: what the answer shows, what it changes, who may do it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.ui.mail import standard_mailbox
from webmail.models import Folder, Message, PendingOperation
from webmail.views.present import message_url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def star_url(account_id: int, folder_id: int, uid: int) -> str:
    return message_url(account_id, folder_id, uid) + "flag"


def starred(folder: Folder) -> set[int]:
    return set(
        Message.objects.filter(folder=folder, flagged=True).values_list(
            "uid", flat=True
        )
    )


def star_in_inbox(user: User, uid: int, **form: str) -> tuple[Folder, str]:
    """Post a star change on the user's own INBOX; its folder and answer."""
    inbox = standard_mailbox(user)["INBOX"]
    answer = client_for(user).post(
        star_url(inbox.account_id, inbox.id, uid), form, **HTMX
    )
    assert answer.status_code == 200
    return inbox, answer.content.decode()


def test_a_star_in_the_list_answers_the_starred_row(alice: User):
    inbox, row = star_in_inbox(alice, 1, flagged="1")
    assert "Quarterly report" in row
    assert 'aria-pressed="true"' in row
    assert starred(inbox) == {1, 2}
    operation = PendingOperation.objects.get(account_id=inbox.account_id)
    assert (operation.uids, operation.payload["add"]) == ([1], ["\\Flagged"])


def test_a_star_reads_and_writes_the_mail_cache_once(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    client = client_for(alice)
    url = star_url(inbox.account_id, inbox.id, 1)
    client.post(url, {"flagged": "0"}, **HTMX)  # the session's first request
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(url, {"flagged": "1"}, **HTMX)
    assert answer.status_code == 200
    mail = [q["sql"] for q in queries if "webmail_" in q["sql"]]
    # The folder's lock (which is also the check that it is hers), the
    # message, its flag and the outbox: the star is answered this often, so
    # each more statement shows in the time it takes.
    assert len(mail) == 4, "\n".join(mail)


def test_unstarring_from_the_reading_pane_answers_the_pane(alice: User):
    inbox, pane = star_in_inbox(alice, 2, flagged="0", view="reader")
    assert "Lunch on Friday?" in pane
    assert 'aria-pressed="false"' in pane
    assert starred(inbox) == set()


def test_starring_what_is_starred_already_queues_nothing(alice: User):
    _, row = star_in_inbox(alice, 2, flagged="1")
    assert 'aria-pressed="true"' in row
    assert not PendingOperation.objects.exists()


def test_a_star_on_mail_not_hers_is_not_found_and_changes_nothing(
    alice: User, bob: User
):
    hers = standard_mailbox(alice)["INBOX"]
    his = standard_mailbox(bob)["INBOX"]
    client = client_for(alice)
    for account_id, folder_id, uid in [
        (his.account_id, his.id, 1),
        (hers.account_id, his.id, 1),  # her account, his folder
        (his.account_id, hers.id, 1),  # his account, her folder
        (hers.account_id, hers.id, 99),  # no such message
    ]:
        answer = client.post(
            star_url(account_id, folder_id, uid), {"flagged": "1"}, **HTMX
        )
        assert answer.status_code == 404, (account_id, folder_id, uid)
    assert starred(his) == starred(hers) == {2}
    assert not PendingOperation.objects.exists()


def test_a_disabled_user_cannot_star_from_a_session_still_open(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    client = client_for(alice)
    User.objects.filter(id=alice.id).update(is_active=False)
    answer = client.post(
        star_url(inbox.account_id, inbox.id, 1), {"flagged": "1"}, **HTMX
    )
    assert answer.status_code != 200
    assert starred(inbox) == {2}
    assert not PendingOperation.objects.exists()


def test_the_open_messages_buttons_say_when_it_is_gone(alice: User, bob: User):
    inbox = standard_mailbox(alice)["INBOX"]
    flags_url = message_url(inbox.account_id, inbox.id, 1) + "flags"
    client = client_for(alice)
    assert 'data-action="star"' in client.get(flags_url, **HTMX).content.decode()
    # Moved away by another tab or device: the pane says so, without buttons
    # or the address that would ask again.
    Message.objects.filter(folder=inbox, uid=1).delete()
    answer = client.get(flags_url, **HTMX)
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "no longer in this folder" in page
    assert "data-url" not in page and "<button" not in page
    # Another user's folder stays a 404, as before.
    assert client_for(bob).get(flags_url, **HTMX).status_code == 404
