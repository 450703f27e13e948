"""With Redis gone, the cached mail still shows and actions wait in the outbox."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.conftest import PASSWORD
from tests.ui.mail import standard_mailbox
from webmail.models import Message, PendingOperation
from webmail.views.present import folder_url, message_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def stop_redis(redis_server):
    yield redis_server.stop
    redis_server.start()


def test_the_list_and_a_star_work_while_redis_is_down(alice: User, stop_redis):
    inbox = standard_mailbox(alice)["INBOX"]
    client = Client()
    client.force_login(alice)
    stop_redis()
    page = client.get(folder_url(inbox.account_id, inbox.id))
    assert page.status_code == 200
    assert "Lunch on Friday?" in page.content.decode()
    message = Message.objects.filter(folder=inbox).order_by("uid")[0]
    star = client.post(
        message_url(inbox.account_id, inbox.id, message.uid) + "flag",
        {"flagged": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert star.status_code == 200
    assert PendingOperation.objects.filter(account_id=inbox.account_id).exists()


def test_opening_mail_while_redis_is_down_says_to_try_again(alice: User, stop_redis):
    inbox = standard_mailbox(alice)["INBOX"]
    client = Client()
    client.force_login(alice)
    message = Message.objects.filter(folder=inbox).order_by("uid")[0]
    stop_redis()
    page = client.get(message_url(inbox.account_id, inbox.id, message.uid))
    assert page.status_code == 200
    assert "try again in a moment" in page.content.decode()


def test_signing_in_works_while_redis_is_down(alice: User, stop_redis):
    inbox = standard_mailbox(alice)["INBOX"]
    stop_redis()
    client = Client()
    signed_in = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    page = client.get(folder_url(inbox.account_id, inbox.id))
    assert "Lunch on Friday?" in page.content.decode()


def test_an_outage_is_one_warning_in_the_log_and_its_end_one_line(
    alice: User, redis_server, stop_redis, caplog
):
    inbox = standard_mailbox(alice)["INBOX"]
    client = Client()
    client.force_login(alice)
    message = message_url(inbox.account_id, inbox.id, 1)

    def browse() -> None:
        # The session is saved on the first request, values are read
        # through the cache, a star queues a push, an open asks for a body.
        for _ in range(3):
            assert client.get(folder_url(inbox.account_id, inbox.id)).status_code == 200
            client.post(message + "flag", {"flagged": "1"}, HTTP_HX_REQUEST="true")
            client.get(message)
            client.get("/accounts/settings/")

    def lines(level: int) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= level]

    caplog.set_level(logging.INFO)
    stop_redis()
    browse()
    (warning,) = lines(logging.WARNING)
    assert warning.startswith("Redis is unreachable (")
    assert not [r for r in caplog.records if r.exc_info]

    caplog.clear()
    redis_server.start()
    assert client.get(folder_url(inbox.account_id, inbox.id)).status_code == 200
    assert "Redis answers again" in lines(logging.INFO)
    assert lines(logging.WARNING) == []

    # The next outage is logged again, once.
    caplog.clear()
    redis_server.stop()
    browse()
    assert len(lines(logging.WARNING)) == 1
