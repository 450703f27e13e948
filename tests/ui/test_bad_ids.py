"""Ids in forms and query strings: a number no row can have is refused, clearly.

A form value past 64 bits (or 32 for a UID), a negative one, "²" or a
full-width digit gets a 400 that says what was wrong, or a 404 where a
query string names a thing, and never a 500 nor an action on some other
message. tests/accounts/test_every_url.py does the same for URL paths.
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.ui.mail import standard_mailbox
from webmail.models import Folder, Message, PendingOperation

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")  # noqa: RUF001
TOO_BIG = [str(2**64), str(2**63)]
IMPOSSIBLE = [*TOO_BIG, "-1", "0", "²", "1x", ""]


def full_width(number: int) -> str:
    """Return number in full-width digits, which int() reads as number."""
    return str(number).translate(FULL_WIDTH)


@pytest.fixture
def folders(alice: User) -> dict[str, Folder]:
    return standard_mailbox(alice)


@pytest.fixture
def client(alice: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    return client


def flags(folder: Folder) -> dict[int, bool]:
    return dict(Message.objects.filter(folder=folder).values_list("uid", "seen"))


def refused(response, value: str) -> None:
    """The response is a 400 that tells a person what went wrong."""
    assert response.status_code == 400, (value, response.status_code)
    text = response.content.decode()
    if value:
        assert f"“{value[:30]}” is not a number this page can use." in text
    else:
        assert "A number is missing from the request." in text
    assert "Reload the page and try again." in text


def bulk_cases(folders: dict[str, Folder]) -> list[tuple[str, str, dict, str]]:
    """(url, field, other fields, value) for every id field of the bulk forms."""
    inbox, archive = folders["INBOX"], folders["Archive"]
    first = Message.objects.get(folder=inbox, uid=1)
    folder_bulk = f"/mail/{inbox.account_id}/{inbox.id}/bulk"
    search_bulk = f"/mail/{inbox.account_id}/search/bulk"
    cases = []
    for url, field, others, real in (
        (folder_bulk, "uid", {"action": "read"}, 1),
        (folder_bulk, "target", {"action": "move", "uid": [1]}, archive.id),
        (search_bulk, "message", {"action": "read"}, first.id),
        (search_bulk, "target", {"action": "move", "message": [first.id]}, archive.id),
    ):
        values = [*IMPOSSIBLE, full_width(real)]
        if field == "uid":
            values.append(str(2**32))
        cases += [(url, field, others, value) for value in values]
    return cases


def test_the_bulk_forms_refuse_impossible_ids_and_say_so(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    before = flags(inbox)
    for url, field, others, value in bulk_cases(folders):
        if field == "target" and value == "":
            continue  # no target: "Pick a folder" (tests/ui/test_bulk.py)
        data = {**others, field: [value]}
        page = client.post(url, data)
        refused(page, value)
        assert page["Content-Type"] == "text/html; charset=utf-8"
        assert "<h1>The request could not be carried out</h1>" in page.content.decode()
        # htmx gets the text alone, for the page's status line.
        partial = client.post(url, data, **HTMX)
        refused(partial, value)
        assert partial["Content-Type"] == "text/plain; charset=utf-8"
    assert flags(inbox) == before
    assert Message.objects.filter(folder=folders["Archive"]).count() == 0
    assert not PendingOperation.objects.exists()


def test_one_impossible_uid_among_good_ones_changes_nothing(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    url = f"/mail/{inbox.account_id}/{inbox.id}/bulk"
    response = client.post(url, {"action": "read", "uid": ["2", str(2**64), "4"]})
    refused(response, str(2**64))
    assert flags(inbox) == {1: True, 2: False, 3: True, 4: False}


def test_the_refusal_speaks_japanese(folders: dict[str, Folder], alice: User):
    client = Client(headers={"Accept-Language": "ja"})
    client.force_login(alice)
    inbox = folders["INBOX"]
    url = f"/mail/{inbox.account_id}/{inbox.id}/bulk"
    response = client.post(url, {"action": "read", "uid": ["²"]}, **HTMX)
    assert response.status_code == 400
    assert response.content.decode() == (
        "「²」はこのページで使える番号ではありません。"
        "ページを再読み込みしてもう一度お試しください。"
    )


def test_query_string_ids_that_name_nothing_are_not_found(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    account = inbox.account_id
    for value in [*TOO_BIG, "-1", "²", full_width(account), full_width(inbox.id)]:
        for url in (
            f"/mail/new-mail?account={value}&folder={inbox.id}&uids=1",
            f"/mail/new-mail?account={account}&folder={value}&uids=1",
            f"/mail/{account}/search?q=report&folder={value}",
            f"/events/?account={value}",
            f"/events/?account={account}&folder={value}",
        ):
            assert client.get(url).status_code == 404, url


def test_new_mail_leaves_out_uids_that_are_no_uids(
    client: Client, folders: dict[str, Folder]
):
    inbox = folders["INBOX"]
    uids = ",".join([*TOO_BIG, str(2**32), "²", full_width(2), "4"])
    response = client.get(
        f"/mail/new-mail?account={inbox.account_id}&folder={inbox.id}&uids={uids}"
    )
    assert response.status_code == 200
    assert [m["uid"] for m in response.json()["messages"]] == [4]


TOO_MANY = (
    "Too many messages were selected to act on at once. Select fewer, or choose "
    "the whole folder or search with its “Select all” link, and try again."
)


def csrf_client(user: User, url: str) -> tuple[Client, dict[str, str]]:
    """A client that passes the CSRF check as the page's htmx does (a header).

    Django's CSRF check reads the form before any view: the form's limits
    are met there.
    """
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(user)
    client.get(url)
    return client, {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


@pytest.mark.parametrize(
    "limit",
    [("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10), ("DATA_UPLOAD_MAX_MEMORY_SIZE", 100)],
)
def test_a_bulk_form_over_the_limits_says_what_to_do(
    limit: tuple[str, int], folders: dict[str, Folder], alice: User, settings
):
    inbox = folders["INBOX"]
    folder_url = f"/mail/{inbox.account_id}/{inbox.id}/"
    client, csrf = csrf_client(alice, folder_url)
    setattr(settings, *limit)
    data = {"action": "read", "uid": [str(uid) for uid in range(1, 41)]}
    for url in (folder_url + "bulk", f"/mail/{inbox.account_id}/search/bulk"):
        partial = client.post(url, data, **HTMX, **csrf)
        assert partial.status_code == 400
        assert partial.content.decode() == TOO_MANY
        page = client.post(url, data, **csrf)
        assert page.status_code == 400
        assert TOO_MANY in page.content.decode()
    assert flags(inbox) == {1: True, 2: False, 3: True, 4: False}
