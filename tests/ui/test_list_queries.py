"""The list page's compiled queries (webmail.shared.prepared) read what is there now.

Only the SQL is kept from one page view to the next, never what it found:
a change made between two views shows on the second, and each account
sees its own folders, messages and refused changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db.models import Count
from django.db.models.sql.compiler import SQLCompiler
from django.http import Http404
from django.template import Context, Template
from django.test import Client
from django.test.utils import override_script_prefix

from accounts.access import accounts_for_user
from accounts.models import User
from tests.ui.mail import (
    NOW,
    account_of,
    add_folder,
    add_message,
    standard_mailbox,
)
from webmail.mail import reading, status
from webmail.mail.folders import personal_top
from webmail.models import (
    AccountState,
    Folder,
    Message,
    OperationKind,
    OperationState,
    PendingOperation,
)
from webmail.shared.prepared import Prepared

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, folder: Folder) -> str:
    url = f"/mail/{folder.account_id}/{folder.id}/"
    answer = client.get(url)
    assert answer.status_code == 200
    return answer.content.decode()


def rows(html: str) -> list[str]:
    return re.findall(r'<li id="m(\d+)"', html)


def refuse(folder: Folder, uids: list[int], error: str) -> PendingOperation:
    return PendingOperation.objects.create(
        account_id=folder.account_id,
        kind=OperationKind.MOVE,
        folder=folder,
        folder_name=folder.name,
        uidvalidity=1,
        uids=uids,
        state=OperationState.FAILED,
        last_error=error,
    )


def test_changes_between_two_views_show_on_the_second(alice: User):
    client = client_of(alice)
    inbox = standard_mailbox(alice)["INBOX"]
    first = page(client, inbox)
    assert rows(first) == ["1", "2", "3", "4"]
    assert "The server refused" not in first

    add_message(inbox, 9, "Brand new", date=NOW + timedelta(hours=1))
    Message.objects.filter(folder=inbox, uid=1).update(seen=False, flagged=True)
    Folder.objects.filter(id=inbox.id).update(unseen=7)
    Folder.objects.filter(account=inbox.account, name="Projects").update(
        display_name="Renamed", path=["Renamed"]
    )
    refuse(inbox, [3], "Mailbox is full.")
    second = page(client, inbox)

    assert rows(second) == ["9", "1", "2", "3", "4"]
    assert "Brand new" in second
    assert '<li id="m1" class="row unread flagged"' in second
    assert 'title="7 unread messages">7</span>' in second
    assert '<span class="name">Renamed</span>' in second
    assert "The server refused a change to 1 message in INBOX." in second
    assert "Mailbox is full." in second


def test_each_account_sees_its_own_mail(alice: User, bob: User):
    alices = standard_mailbox(alice)["INBOX"]
    bobs = add_folder(account_of(bob), "INBOX")
    add_message(bobs, 77, "For Bob only")
    add_folder(account_of(bob), "Bob's own folder")
    refuse(bobs, [77], "Bob's quota")
    alice_page = page(client_of(alice), alices)
    bob_page = page(client_of(bob), bobs)
    assert rows(alice_page) == ["1", "2", "3", "4"]
    assert rows(bob_page) == ["77"]
    assert "For Bob only" not in alice_page and "Bob's quota" not in alice_page
    assert "Bob&#x27;s own folder" not in alice_page
    assert "Quarterly report" not in bob_page and "Bob&#x27;s quota" in bob_page


def test_the_prepared_queries_answer_what_the_orm_does(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    account = inbox.account
    for uid in range(10, 80):
        add_message(inbox, uid, f"Message {uid}", seen=uid % 3 == 0)
    refuse(inbox, [1, 2], "Mailbox is full.")
    page_one = reading.list_messages(account, inbox)
    orm = list(
        Message.objects.filter(folder=inbox)
        .values_list(*reading.ROW_COLUMNS, named=True)
        .order_by("-date", "-uid")[:50]
    )
    assert page_one.messages == orm
    assert type(page_one.messages[0]) is type(orm[0])
    assert page_one.next_before == reading._cursor(orm[-1])
    folders = reading.folders(account)
    fields = ("id", "name", "path", "special_use", "unseen", "total", "selectable")
    in_orm = Folder.objects.filter(account=account).values_list(*fields)
    assert folders[0].name == "INBOX"
    shown = sorted(tuple(getattr(f, name) for name in fields) for f in folders)
    assert shown == sorted(in_orm)
    (failure,) = status.failed_operations(account)
    assert failure.uids == [1, 2] and failure.last_error == "Mailbox is full."
    # One message, as every action on it reads it: the row whole, or a 404.
    read = reading.get_message(inbox, 12)
    whole = Message.objects.get(folder=inbox, uid=12)
    names = [f.attname for f in Message._meta.concrete_fields]
    assert [getattr(read, n) for n in names] == [getattr(whole, n) for n in names]
    with pytest.raises(Http404):
        reading.get_message(inbox, 9)


def test_the_account_list_shows_the_state_of_now_and_only_the_users_own(
    alice: User, bob: User, django_assert_num_queries
):
    account = account_of(alice)
    AccountState.objects.update_or_create(
        account=account, defaults={"quota_used_kb": 10, "quota_limit_kb": 100}
    )
    (first,) = accounts_for_user(alice)
    assert first.sync_state.quota_used_kb == 10
    AccountState.objects.filter(account=account).update(
        quota_used_kb=90, error="Wrong password."
    )
    with compiled_sql() as compiled, django_assert_num_queries(1):
        (again,) = accounts_for_user(alice.pk)
        # The state came with the account: reading it asks nothing more.
        assert (again.sync_state.quota_used_kb, again.sync_state.error) == (
            90,
            "Wrong password.",
        )
        assert again.email == account.email and again.user_id == alice.pk
    assert compiled == []
    assert [a.id for a in accounts_for_user(bob)] == [account_of(bob).id]
    AccountState.objects.filter(account=account).delete()
    (stateless,) = accounts_for_user(alice)
    with pytest.raises(AccountState.DoesNotExist):
        stateless.sync_state  # noqa: B018 - as the ORM's select_related says
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert accounts_for_user(alice) == []


def test_the_folder_tree_follows_the_servers_personal_prefix_of_now(alice: User):
    # Courier keeps every folder under "INBOX.": the tree shows them at the top.
    account = account_of(alice)
    assert personal_top(account.id) == ()
    AccountState.objects.update_or_create(
        account=account, defaults={"folder_prefix": "INBOX."}
    )
    assert personal_top(account.id) == ("INBOX",)
    AccountState.objects.filter(account=account).update(folder_prefix="")
    assert personal_top(account.id) == ()


def test_a_shape_it_cannot_prepare_runs_through_the_orm(alice: User):
    inbox = standard_mailbox(alice)["INBOX"]
    counted = Prepared(
        lambda account_id: (
            Folder.objects.filter(account_id=account_id)
            .annotate(cached=Count("messages"))
            .order_by("id")
        )
    )
    found = {folder.name: folder.cached for folder in counted.objects(inbox.account_id)}
    assert found["INBOX"] == 4 and found["Trash"] == 0


@contextmanager
def compiled_sql() -> Iterator[list[str]]:
    """The SQL that Django compiles meanwhile."""
    seen: list[str] = []
    original = SQLCompiler.as_sql

    def as_sql(self, *args, **kwargs):
        sql, params = original(self, *args, **kwargs)
        seen.append(sql)
        return sql, params

    SQLCompiler.as_sql = as_sql  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        SQLCompiler.as_sql = original  # type: ignore[method-assign]


def test_a_list_view_compiles_its_mail_queries_once(alice: User):
    client = client_of(alice)
    inbox = standard_mailbox(alice)["INBOX"]
    page(client, inbox)
    with compiled_sql() as seen:
        html = page(client, inbox)
    assert rows(html) == ["1", "2", "3", "4"]
    tables = ("webmail_folder", "webmail_message", "webmail_pendingoperation")
    assert [sql for sql in seen if any(table in sql for table in tables)] == []


@pytest.mark.parametrize("mount", ["", "/webmail"])
def test_the_header_links_follow_where_the_site_is_mounted(alice: User, mount: str):
    client = client_of(alice)
    inbox = standard_mailbox(alice)["INBOX"]
    url = f"/mail/{inbox.account_id}/{inbox.id}/"
    # The other mount first, so that its URLs are the ones remembered.
    with override_script_prefix("/" if mount else "/elsewhere/"):
        client.get(url)
    with override_script_prefix(f"{mount}/"):
        html = client.get(url).content.decode()
    assert f'<a class="brand" href="{mount}/">' in html
    assert f'action="{mount}/i18n/setlang/"' in html
    assert f'<a href="{mount}/accounts/settings/">' in html
    assert f'action="{mount}/accounts/logout/"' in html
    assert f'data-new-mail-url="{mount}/mail/new-mail"' in html


def test_asset_urls_are_those_of_static():
    both = Template(
        "{% load static mail %}{% static 'js/mail.js' %} {% asset 'js/mail.js' %}"
    )
    for prefix in ("/", "/webmail/", "/"):
        with override_script_prefix(prefix):
            static, asset = both.render(Context()).split()
        assert asset == static
