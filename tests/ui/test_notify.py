"""The sender-and-subject endpoint behind new-mail notifications."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.ui.mail import account_of, standard_mailbox

URL = reverse("mail_new")


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_returns_sender_subject_and_permalink_newest_first(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    response = client_for(alice).get(
        URL, {"account": account.id, "folder": inbox.id, "uids": "2,4,99"}
    )
    assert response.status_code == 200
    assert response.json()["messages"] == [
        {
            "uid": 4,
            "sender": "山田太郎",
            "subject": "お知らせ メンテナンス",
            "url": f"/mail/{account.id}/{inbox.id}/4/",
        },
        {
            "uid": 2,
            "sender": "Dana Sender",
            "subject": "Lunch on Friday?",
            "url": f"/mail/{account.id}/{inbox.id}/2/",
        },
    ]


def test_another_users_account_or_folder_is_not_found(alice: User, bob: User):
    inbox = standard_mailbox(alice)["INBOX"]
    bobs_inbox = standard_mailbox(bob)["INBOX"]
    alices, bobs = account_of(alice), account_of(bob)
    client = client_for(alice)
    for account, folder in ((bobs, bobs_inbox), (alices, bobs_inbox), (bobs, inbox)):
        response = client.get(
            URL, {"account": account.id, "folder": folder.id, "uids": "1"}
        )
        assert response.status_code == 404, (account, folder)


def test_bad_ids_are_not_found_and_bad_uids_are_ignored(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = account_of(alice)
    client = client_for(alice)
    assert client.get(URL, {"account": "x", "folder": inbox.id}).status_code == 404
    assert client.get(URL, {"account": account.id}).status_code == 404
    response = client.get(
        URL, {"account": account.id, "folder": inbox.id, "uids": "a,,-1"}
    )
    assert response.json() == {"messages": []}


def test_signed_out_visitors_are_sent_to_sign_in(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    response = Client().get(
        URL, {"account": account_of(alice).id, "folder": inbox.id, "uids": "1"}
    )
    assert response.status_code == 302
