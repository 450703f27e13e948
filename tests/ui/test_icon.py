"""The app's icon: linked from every kind of page, and served."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.ui.mail import account_of, standard_mailbox

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="([^"]+\.svg)" type="image/svg\+xml">')


def test_the_sign_in_and_mail_pages_link_the_icon_and_it_is_served(alice):
    client = Client()
    signin = client.get("/accounts/login/").content.decode()
    folders = standard_mailbox(alice)
    account = account_of(alice)
    client.force_login(alice)
    mailbox = client.get(f"/mail/{account.id}/{folders['INBOX'].id}/").content.decode()

    for page in (signin, mailbox):
        found = ICON.search(page)
        assert found, "no icon link"
        served = client.get(found[1])
        assert served.status_code == 200
        body = (
            b"".join(served.streaming_content) if served.streaming else served.content
        )
        assert b"<svg" in body
