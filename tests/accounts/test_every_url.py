"""Every URL that takes an id: another user's id gets 404, nothing more.

The test walks Django's URL resolver, so a new URL with an id-like argument
(account_id, folder_id, uid, user_id, operation_id, part_id, ...) fails
test_every_id_url_is_in_the_table until a case for it is added to CASES
below. Each case gives the arguments that name one of Alice's objects; Bob
asks for it with GET and with POST, once with Alice's account id and once
with his own account id and Alice's other ids, and must get 404 (or 405
for a method the view does not take). Charlie, who has a mail account but
no mail, then does the same. Alice asking for the same thing must
not get 404, so that a case cannot pass by pointing at nothing.

Operator URLs (/manage/) are checked apart: a signed-in non-staff user gets
403, 404 or the sign-in page for every one of them, never the page.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Identity, MailAccount, User, UserSession
from tests.ui.mail import standard_mailbox
from webmail.mail import proxy
from webmail.models import (
    Contact,
    Draft,
    Folder,
    OperationKind,
    OperationState,
    OutgoingMessage,
    PendingOperation,
    RetentionRule,
    UndoableAction,
    Upload,
)
from webmail.shared import bodycache, partlinks
from webmail.shared.uploads import new_stored_name

pytestmark = pytest.mark.django_db

ID_ARGUMENT = re.compile(r"^(id|pk|uid|part|section)$|_(id|uid|pk)$")
OPERATOR_NAMESPACES = {"manage"}
# Django's own admin: every page there needs a staff user, checked by
# admin_site.admin_view before any object is looked up.
IGNORED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    name: str  # with its namespace, as reverse() takes it
    arguments: tuple[str, ...]


def _arguments(pattern: Any) -> list[str]:
    converters = getattr(pattern, "converters", None)
    if converters:
        return list(converters)
    return list(pattern.regex.groupindex)


def _walk(
    patterns: list[Any], namespace: str = "", inherited: tuple[str, ...] = ()
) -> Iterator[Route]:
    for entry in patterns:
        arguments = inherited + tuple(_arguments(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, inner, arguments)
        elif isinstance(entry, URLPattern) and entry.name:
            yield Route(namespace + entry.name, arguments)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def id_routes() -> dict[str, Route]:
    """URL name -> route, for every URL with an id-like argument."""
    found = {}
    for route in all_routes():
        space = route.name.rpartition(":")[0]
        if space in IGNORED_NAMESPACES or space in OPERATOR_NAMESPACES:
            continue
        if any(ID_ARGUMENT.search(name) for name in route.arguments):
            found[route.name] = route
    return found


@dataclass
class World:
    """Alice's objects (Bob has the same kinds of his own)."""

    alice: User
    bob: User
    account: MailAccount
    bob_account: MailAccount
    inbox: Folder
    operation: PendingOperation
    session: UserSession


def message(w: World) -> dict[str, Any]:
    return {"account_id": w.account.id, "folder_id": w.inbox.id, "uid": 2}


def account(w: World) -> dict[str, Any]:
    return {"account_id": w.account.id}


def part(w: World) -> dict[str, Any]:
    return {**message(w), "part_id": "2"}


def rule(w: World) -> dict[str, Any]:
    made = RetentionRule.objects.create(
        account=w.account, folder=w.inbox, folder_name="INBOX", action="delete", days=30
    )
    return {"account_id": w.account.id, "rule_id": made.id}


def identity(w: World) -> dict[str, Any]:
    made = Identity.objects.create(account=w.account, email="alias@example.org")
    return {"account_id": w.account.id, "identity_id": made.id}


def contact(w: World) -> dict[str, Any]:
    made = Contact.objects.create(user=w.alice, email="dana@example.net", search="")
    return {"contact_id": made.id}


def inline_part_token(signer: User, w: World) -> str:
    return partlinks.sign_part(signer.id, w.account.id, w.inbox.id, 2, "2")


@dataclass(frozen=True)
class Case:
    """How Alice names her object, and what Bob tries instead.

    owner gives Alice's own arguments (the control); None when the owner's
    request cannot run here. intruder gives Bob's attempts; by default the
    owner's arguments, and with his own account id and her other ids.
    """

    owner: Callable[[World], dict[str, Any]] | None
    intruder: Callable[[World], list[dict[str, Any]]] | None = None


# URL name -> the case for it.
CASES: dict[str, Case] = {
    "session_end": Case(lambda w: {"session_id": w.session.id}),
    "mail_account_edit": Case(account),
    "mail_account_test": Case(account),
    "mail_account_delete": Case(account),
    "mail_identities": Case(account),
    "mail_identity_add": Case(account),
    "mail_identity_edit": Case(identity),
    "mail_identity_default": Case(identity),
    "mail_identity_delete": Case(identity),
    "mail_contact": Case(contact),
    "mail_contact_delete": Case(contact),
    # A signed URL is its own credential (the sandboxed message frame sends
    # no cookies): Bob tries Alice's id with his token. Alice's own use is
    # tests/ui/test_proxy.py::test_it_serves_a_remote_image_to_the_user_it_
    # was_signed_for.
    "image_proxy": Case(
        None,
        lambda w: [
            {
                "user_id": w.alice.id,
                "token": proxy.sign(w.bob.id, "https://example.org/a.png"),
            }
        ],
    ),
    # Bob's token for Alice's part, under her id and under his.
    "mail_inline_part": Case(
        lambda w: {"user_id": w.alice.id, "token": inline_part_token(w.alice, w)},
        lambda w: [
            {"user_id": w.alice.id, "token": inline_part_token(w.bob, w)},
            {"user_id": w.bob.id, "token": inline_part_token(w.bob, w)},
        ],
    ),
    "mail_account": Case(account),
    "mail_search": Case(account),
    "mail_search_bulk": Case(account),
    "mail_compose": Case(account),
    "mail_upload_start": Case(account),
    "mail_upload": Case(
        lambda w: {
            "account_id": w.account.id,
            "upload_id": Upload.objects.create(
                account=w.account,
                filename="a.txt",
                size=1,
                stored_name=new_stored_name(),
            ).id,
        }
    ),
    "mail_outgoing": Case(
        lambda w: {
            "account_id": w.account.id,
            "outgoing_id": OutgoingMessage.objects.create(
                account=w.account, raw=b"x", envelope_from=w.account.email
            ).id,
        }
    ),
    "mail_outgoing_cancel": Case(
        lambda w: {
            "account_id": w.account.id,
            "outgoing_id": OutgoingMessage.objects.create(
                account=w.account, raw=b"x", envelope_from=w.account.email
            ).id,
        }
    ),
    "mail_scheduled": Case(account),
    "mail_draft_new": Case(account),
    "mail_draft": Case(
        lambda w: {
            "account_id": w.account.id,
            "draft_id": Draft.objects.create(
                account=w.account, token=uuid.uuid4().hex
            ).id,
        }
    ),
    "mail_dismiss_failure": Case(
        lambda w: {"account_id": w.account.id, "operation_id": w.operation.id}
    ),
    "mail_undo": Case(
        lambda w: {
            "account_id": w.account.id,
            "action_id": UndoableAction.objects.create(
                account=w.account, verb="move", count=1, target=w.inbox
            ).id,
        }
    ),
    "mail_folder": Case(
        lambda w: {"account_id": w.account.id, "folder_id": w.inbox.id}
    ),
    "mail_bulk": Case(lambda w: {"account_id": w.account.id, "folder_id": w.inbox.id}),
    "mail_folders": Case(account),
    "mail_storage": Case(account),
    "mail_storage_delete": Case(account),
    "mail_retention": Case(account),
    "mail_retention_rule": Case(rule),
    "mail_retention_remove": Case(rule),
    "mail_folder_create": Case(account),
    "mail_folder_special": Case(account),
    "mail_folder_uses": Case(account),
    "mail_folder_rename": Case(
        lambda w: {"account_id": w.account.id, "folder_id": w.inbox.id}
    ),
    "mail_folder_delete": Case(
        lambda w: {"account_id": w.account.id, "folder_id": w.inbox.id}
    ),
    "mail_folder_empty": Case(
        lambda w: {
            "account_id": w.account.id,
            "folder_id": Folder.objects.get(account=w.account, name="Trash").id,
        }
    ),
    "mail_folder_subscribe": Case(
        lambda w: {"account_id": w.account.id, "folder_id": w.inbox.id}
    ),
    "mail_message": Case(message),
    "mail_message_wait": Case(lambda w: {**message(w), "token": "0" * 32}),
    "mail_conversation": Case(message),
    "mail_conversation_seen": Case(message),
    "mail_conversation_act": Case(message),
    "mail_body": Case(message),
    "mail_body_wait": Case(lambda w: {**message(w), "token": "0" * 32}),
    "mail_flag": Case(message),
    "mail_seen": Case(message),
    "mail_pane_flags": Case(message),
    "mail_delete": Case(message),
    "mail_unread": Case(message),
    "mail_move": Case(message),
    "mail_archive": Case(message),
    "mail_spam": Case(message),
    "mail_not_spam": Case(message),
    "mail_allow": Case(message),
    "mail_part": Case(part),
    "mail_parts_zip": Case(message),
    "mail_source": Case(message),
    "mail_eml": Case(message),
    "mail_print": Case(message),
}


@pytest.fixture
def world(alice: User, bob: User, settings) -> World:
    settings.BODY_FETCH_TIMEOUT = 1
    inbox = standard_mailbox(alice)["INBOX"]
    standard_mailbox(bob)
    # Message 2 gets an attachment, for the part and zip URLs.
    key = bodycache.cache_key(inbox.account_id, inbox, 2)
    body = cache.get(key)
    body["attachments"] = [
        {
            "part_id": "2",
            "filename": "report.pdf",
            "content_type": "application/pdf",
            "size": 10,
        }
    ]
    cache.set(key, body, 600)
    account = MailAccount.objects.get(user=alice)
    operation = PendingOperation.objects.create(
        account=account,
        kind=OperationKind.FLAGS,
        folder=inbox,
        folder_name="INBOX",
        uidvalidity=1,
        uids=[1],
        state=OperationState.FAILED,
    )
    session = UserSession.objects.create(user=alice, session_key="a" * 32)
    return World(
        alice,
        bob,
        account,
        MailAccount.objects.get(user=bob),
        inbox,
        operation,
        session,
    )


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_every_id_url_is_in_the_table():
    routes = id_routes()
    missing = sorted(set(routes) - set(CASES))
    assert not missing, (
        "These URLs take an id but have no 'another user gets 404' case in "
        f"CASES of tests/accounts/test_every_url.py: {', '.join(missing)}"
    )
    stale = sorted(set(CASES) - set(routes))
    assert not stale, f"CASES names URLs that do not exist (or take no id): {stale}"


def intrusions(case: Case, world: World) -> list[dict[str, Any]]:
    if case.intruder is not None:
        return case.intruder(world)
    assert case.owner is not None
    kwargs = case.owner(world)
    tries = [kwargs]
    if "account_id" in kwargs and len(kwargs) > 1:
        # His own account with Alice's folder, message or operation.
        tries.append({**kwargs, "account_id": world.bob_account.id})
    return tries


@pytest.mark.parametrize("name", sorted(CASES))
def test_bob_gets_404_for_alices_object(name: str, world: World):
    check_intruder_gets_404(name, world)


@pytest.mark.parametrize("name", sorted(CASES))
def test_charlie_gets_404_for_alices_object(name: str, world: World, charlie: User):
    # Charlie has a mail account but no mail: he plays Bob's part.
    check_intruder_gets_404(
        name,
        replace(world, bob=charlie, bob_account=MailAccount.objects.get(user=charlie)),
    )


def check_intruder_gets_404(name: str, world: World) -> None:
    """world.bob asks for Alice's object and gets 404; Alice does not."""
    case = CASES[name]
    bob = client_for(world.bob)
    for arguments in intrusions(case, world):
        url = reverse(name, kwargs=arguments)
        statuses = {"GET": bob.get(url).status_code, "POST": bob.post(url).status_code}
        assert set(statuses.values()) <= {404, 405}, f"{url}: {statuses}"
        assert 404 in statuses.values(), f"{url}: {statuses}"

    if case.owner is None:
        return
    # The control: the owner's request reaches the object.
    alice = client_for(world.alice)
    url = reverse(name, kwargs=case.owner(world))
    status = alice.get(url).status_code
    if status == 405:
        status = alice.post(url).status_code
    assert status != 404, f"Alice gets 404 for {url}: the case names nothing"


def operator_routes() -> list[Route]:
    return [
        route
        for route in all_routes()
        if route.name.rpartition(":")[0] in OPERATOR_NAMESPACES
    ]


def test_there_are_operator_urls_to_check():
    assert {"manage:users", "manage:user", "manage:user_delete"} <= {
        route.name for route in operator_routes()
    }


@pytest.mark.parametrize("name", sorted(route.name for route in operator_routes()))
def test_a_non_staff_user_never_gets_an_operator_page(
    name: str, alice: User, bob: User, staff: User
):
    route = next(r for r in operator_routes() if r.name == name)
    url = reverse(name, kwargs={argument: alice.id for argument in route.arguments})
    bob_client = client_for(bob)
    for method in ("get", "post"):
        response = getattr(bob_client, method)(url)
        refused = response.status_code in (403, 404, 405) or (
            response.status_code == 302
            and response["Location"].startswith("/accounts/login/")
        )
        assert refused, f"{method.upper()} {url} gave bob {response.status_code}"
        anonymous = getattr(Client(), method)(url)
        assert anonymous.status_code == 405 or anonymous.get("Location", "").startswith(
            "/accounts/login/"
        ), f"{method.upper()} {url} gave a visitor {anonymous.status_code}"
    assert User.objects.filter(pk=alice.pk, is_active=True).exists()
    # The control: staff get in.
    staff_client = client_for(staff)
    status = staff_client.get(url).status_code
    assert status in (200, 405), f"staff get {status} for {url}"


# Ids no row can have: past a 64-bit integer (or a 32-bit UID), negative,
# zero, and digits that are not ASCII: "²" and a full-width one.
IMPOSSIBLE_IDS = [str(2**64), str(2**63), str(2**32), "-1", "0", "²", "\uff11"]
UID_ARGUMENT = re.compile(r"(^|_)uid$")


def check_impossible_ids(client: Client, name: str, arguments: dict[str, Any]) -> None:
    """Each id of the URL, in turn, set to each impossible id: 404, never 500."""
    client.raise_request_exception = False
    for argument in arguments:
        if not ID_ARGUMENT.search(argument) or argument == "part_id":
            continue
        marker = "987654321"
        path = reverse(name, kwargs={**arguments, argument: int(marker)})
        for value in IMPOSSIBLE_IDS:
            if value == str(2**32) and not UID_ARGUMENT.search(argument):
                continue  # a possible row id
            url = path.replace(marker, value, 1)
            for method in ("get", "post"):
                status = getattr(client, method)(url).status_code
                assert status in (404, 405), f"{method.upper()} {url}: {status}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_impossible_id_in_a_url_is_not_found(name: str, world: World):
    case = CASES[name]
    owner = case.owner or (lambda w: case.intruder(w)[0])  # type: ignore[misc]
    check_impossible_ids(client_for(world.alice), name, owner(world))


@pytest.mark.parametrize("name", sorted(route.name for route in operator_routes()))
def test_an_impossible_id_in_an_operator_url_is_not_found(
    name: str, alice: User, staff: User
):
    route = next(r for r in operator_routes() if r.name == name)
    arguments = {argument: alice.id for argument in route.arguments}
    check_impossible_ids(client_for(staff), name, arguments)
