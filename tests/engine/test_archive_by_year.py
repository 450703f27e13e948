"""Archiving into one folder per year, on a real Dovecot through the worker."""

from __future__ import annotations

import pytest

from accounts.models import Preference
from tests.engine.conftest import account_for, synced_inbox, wait_for
from tests.engine.test_retention import dated, folder_named, subjects
from webmail.mail import actions
from webmail.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_archiving_sorts_messages_into_their_years(worker, imap_user, other_device):
    phone = other_device(imap_user)
    phone.append("INBOX", dated("old plan", "Tue, 05 Mar 2024 10:00:00 +0000"))
    phone.append("INBOX", dated("new plan", "Wed, 08 Jan 2025 10:00:00 +0000"))
    phone.append("INBOX", dated("stays", "Wed, 08 Jan 2025 11:00:00 +0000"))
    account = account_for(imap_user)
    Preference.objects.create(user=account.user, archive_by_year=True)
    inbox = synced_inbox(account)
    uids = list(
        Message.objects.filter(folder=inbox, subject__endswith="plan").values_list(
            "uid", flat=True
        )
    )

    assert actions.archive_messages(account, inbox, uids) == 2

    def on_server() -> bool:
        years = {year: folder_named(phone, year) for year in ("2024", "2025")}
        if None in years.values():
            return False
        return subjects(phone, years["2024"]) == ["old plan"] and subjects(
            phone, years["2025"]
        ) == ["new plan"]

    wait_for(on_server, what="each message in Archive's folder for its year")
    assert subjects(phone, "INBOX") == ["stays"]
    assert folder_named(phone, "2024").startswith("Archive")


def test_without_the_setting_archive_is_one_folder(worker, imap_user, other_device):
    phone = other_device(imap_user)
    phone.append("INBOX", dated("old plan", "Tue, 05 Mar 2024 10:00:00 +0000"))
    account = account_for(imap_user)
    inbox = synced_inbox(account)
    uid = Message.objects.get(folder=inbox).uid

    assert actions.archive_messages(account, inbox, [uid]) == 1

    wait_for(
        lambda: subjects(phone, "Archive") == ["old plan"],
        what="the message in Archive",
    )
    assert folder_named(phone, "2024") is None
