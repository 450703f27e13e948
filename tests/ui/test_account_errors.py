"""The account's server error, said in the reader's language.

The worker records the facade's English text together with the error's
kind; the page words the known kinds again for whoever reads it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from accounts.access import accounts_for_user
from accounts.models import User
from tests.ui.mail import account_of, standard_mailbox
from webmail.engine import folderlist, outbox
from webmail.imap import AuthenticationFailed, TlsError
from webmail.mail import status
from webmail.models import AccountState

pytestmark = pytest.mark.django_db

REFUSED = "imap.example.org refused the username or password."


def inbox_page(user: User, language: str) -> str:
    inbox = standard_mailbox(user)["INBOX"]
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get(f"/mail/{inbox.account_id}/{inbox.id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_refused_password_is_said_in_japanese_to_a_japanese_reader(alice: User):
    account = account_of(alice)
    outbox.record_account_error(account.id, AuthenticationFailed(REFUSED))
    html = inbox_page(alice, "ja")
    assert (
        "新着メールを確認できませんでした: "
        "imap.example.org がユーザー名またはパスワードを受け付けませんでした。"
    ) in html
    assert "refused the username" not in html


def test_a_refused_password_is_said_in_english_to_an_english_reader(alice: User):
    account = account_of(alice)
    outbox.record_account_error(account.id, AuthenticationFailed(REFUSED))
    html = inbox_page(alice, "en")
    assert f"New mail could not be checked: {REFUSED}" in html
    assert "受け付けませんでした" not in html


def test_the_sentence_names_the_accounts_own_host(alice: User):
    account = account_of(alice)
    account.imap_host = "mail.alice.example"
    account.save()
    outbox.record_account_error(account.id, TlsError("Certificate problem."))
    html = inbox_page(alice, "ja")
    assert "mail.alice.example の証明書を検証できませんでした。" in html
    assert "Certificate problem." not in html


def test_an_error_of_another_kind_is_shown_as_recorded(alice: User):
    account = account_of(alice)
    server_words = "Server said: [UNAVAILABLE] Maintenance until 10:00"
    AccountState.objects.create(
        account=account, error=server_words, error_kind="CommandFailed"
    )
    html = inbox_page(alice, "ja")
    assert f"新着メールを確認できませんでした: {server_words}" in html


def test_no_error_shows_no_notice(alice: User):
    account = account_of(alice)
    AccountState.objects.create(account=account)
    assert "新着メールを確認できませんでした" not in inbox_page(alice, "ja")


def test_the_state_error_needs_no_query(alice: User, django_assert_num_queries):
    account = account_of(alice)
    outbox.record_account_error(account.id, AuthenticationFailed(REFUSED))
    (loaded,) = accounts_for_user(alice)
    with translation.override("en"), django_assert_num_queries(0):
        assert status.state_error(loaded) == REFUSED


def test_the_worker_records_the_kind_beside_the_text_and_clears_both(alice: User):
    """An engine check: no IMAP server, the real recording functions."""
    account = account_of(alice)
    outbox.record_account_error(account.id, TlsError("Certificate problem."))
    state = AccountState.objects.get(account=account)
    assert (state.error, state.error_kind) == ("Certificate problem.", "TlsError")

    outbox.record_account_error(account.id, RuntimeError("Unexpected."))
    state.refresh_from_db()
    assert (state.error, state.error_kind) == ("Unexpected.", "")

    outbox.record_account_error(account.id, AuthenticationFailed(REFUSED))
    folderlist.apply_folder_list(account.id, [], [])
    state.refresh_from_db()
    assert (state.error, state.error_kind) == ("", "")
