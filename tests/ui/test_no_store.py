"""What a signed-in user is shown is not kept by the browser (Cache-Control).

On a shared computer, a page kept in the browser's cache or back-forward
history would show the last person's mail to the next.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import AsyncClient, Client

from accounts.models import User
from tests.ui.mail import account_of, standard_mailbox
from tests.ui.test_bulk import HTMX
from webmail.models import Folder

pytestmark = pytest.mark.django_db

READER = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "reader"}


@pytest.fixture
def inbox(alice: User) -> Folder:
    return standard_mailbox(alice)["INBOX"]


@pytest.fixture
def client(alice: User) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def not_stored(response) -> None:
    assert response.status_code == 200, response.status_code
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert "no-store" in directives, response["Cache-Control"]


def test_mail_pages_and_their_parts_are_not_stored(client: Client, inbox: Folder):
    folder = f"/mail/{inbox.account_id}/{inbox.id}/"
    message = f"{folder}2/"
    for path, headers in (
        ("/", {}),
        (folder, {}),
        (folder, HTMX),  # the list, refreshed after an event
        (message, {}),
        (message, READER),  # the reading pane
        (f"{message}body", {}),  # the message's frame
        (f"{message}thread", {}),
        (f"{message}print", {}),
        (f"/mail/{inbox.account_id}/search", {}),  # no search is run
    ):
        not_stored(client.get(path, **headers))
    for path, data in (
        (f"{message}flag", {"flagged": "1"}),
        (f"{folder}bulk", {"action": "read", "uid": [2]}),
    ):
        not_stored(client.post(path, data, **HTMX))


def test_settings_pages_are_not_stored(client: Client, alice: User):
    account = account_of(alice)
    for path in (
        "/accounts/settings/",
        "/accounts/security/",
        "/accounts/mail/",
        f"/accounts/mail/{account.id}/",
    ):
        not_stored(client.get(path))


# The stream's view queries from another thread: the rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_the_event_stream_keeps_its_own_header(alice: User, inbox: Folder):
    async def headers() -> str:
        client = AsyncClient()
        await client.aforce_login(alice)
        response = await client.get(f"/events/?account={inbox.account_id}")
        assert response["Content-Type"] == "text/event-stream"
        return str(response["Cache-Control"])

    # In a thread of its own: a browser test may have left this one's loop.
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, headers()).result() == "no-cache"
