"""No page of the product is left without its stylesheet.

Every URL of the product that answers GET with a whole HTML page is asked
for by a visitor, a user (Alice) and an operator, with the arguments that
tests/accounts/test_every_url.py uses to name Alice's objects, and the page
must link static/css/app.css. Pages reached only by a POST (signed out,
recovery codes, blocked) are checked through their templates: every
template that is a whole page extends one of the two bases that link it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.accounts.conftest import make_user
from tests.accounts.test_every_url import (  # noqa: F401 (the world fixture)
    CASES,
    IGNORED_NAMESPACES,
    OPERATOR_NAMESPACES,
    World,
    all_routes,
    client_for,
    world,
)

pytestmark = pytest.mark.django_db

STYLESHEET = re.compile(
    r'<link rel="stylesheet" href="[^"]*/css/app(\.[0-9a-f]+)?\.css"'
)
BASES = {"base.html", "webmail/base_mail.html"}
# The message's own document (the body frame, the print page): black on
# white with a style of its own, under its own policy, not the product's.
MAIL_DOCUMENTS = {"mail_body", "mail_print"}
MAIL_TEMPLATES = {"webmail/body.html", "webmail/print.html"}
EXTENDS = re.compile(r'{%\s*extends\s+"([^"]+)"\s*%}')
# Pages every run must have reached, so that the walk cannot pass by
# checking nothing.
EXPECTED = {
    "login",
    "security",
    "preferences",
    "twofactor_setup",
    "password_change",
    "mail_accounts",
    "mail_account_add",
    "mail_account_edit",
    "mail_identities",
    "mail_contacts",
    "mail_storage",
    "mail_retention",
    "mail_folders",
    "manage:users",
    "manage:user",
    "manage:user_new",
    "manage:import",
    "manage:audit",
    "manage:certificates",
}


def arguments_for(name: str, space: str, w: World) -> dict[str, Any] | None:
    """The arguments that name one of Alice's objects; None when none will do."""
    route = next(r for r in all_routes() if r.name == name)
    if not route.arguments:
        return {}
    if space in OPERATOR_NAMESPACES:
        return {argument: w.alice.id for argument in route.arguments}
    case = CASES.get(name)
    if case is None or case.owner is None:
        return None
    return case.owner(w)


def is_page(response: Any) -> bool:
    """A whole HTML page (not an htmx fragment, a file or a redirect)."""
    return (
        response.status_code == 200
        and response.get("Content-Type", "").startswith("text/html")
        and b"<html" in response.content[:500]
    )


def test_every_page_links_the_stylesheet(world: World):  # noqa: F811 (the fixture)
    operator = make_user("operator", staff=True)
    clients = {
        "visitor": Client(),
        "alice": client_for(world.alice),
        "operator": client_for(operator),
    }
    checked: set[str] = set()
    unstyled: list[str] = []
    for route in all_routes():
        space = route.name.rpartition(":")[0]
        if space in IGNORED_NAMESPACES or route.name in MAIL_DOCUMENTS:
            continue
        arguments = arguments_for(route.name, space, world)
        if arguments is None:
            continue
        url = reverse(route.name, kwargs=arguments)
        for who, client in clients.items():
            response = client.get(url)
            if not is_page(response):
                continue
            checked.add(route.name)
            if not STYLESHEET.search(response.content.decode()):
                unstyled.append(f"{url} ({who})")
    assert not unstyled, f"Pages without css/app.css: {unstyled}"
    missing = EXPECTED - checked
    assert not missing, f"These pages were not reached: {sorted(missing)}"


def extends_chain(path: Path, root: Path) -> list[str]:
    chain = []
    while match := EXTENDS.search(path.read_text()):
        chain.append(match.group(1))
        path = root / match.group(1)
    return chain


def test_every_page_template_extends_a_base_with_the_stylesheet():
    root = Path(settings.BASE_DIR) / "templates"
    for base in BASES:
        assert STYLESHEET.search(
            re.sub(r"{% asset '([^']+)' %}", r"/static/\1", (root / base).read_text())
        ), base
    bare = []
    for path in sorted(root.rglob("*.html")):
        name = str(path.relative_to(root))
        if name in BASES or name.startswith("forms/"):
            continue
        text = path.read_text()
        chain = extends_chain(path, root)
        if chain and not BASES & set(chain):
            bare.append(f"{name} extends {chain}")
        elif (
            not chain
            and name not in MAIL_TEMPLATES
            and re.search(r"<html|<!doctype", text, re.IGNORECASE)
        ):
            bare.append(f"{name} is a page without a base")
    assert not bare, bare


def test_only_operators_see_the_way_to_manage_in_the_header(
    world: World,  # noqa: F811 (the fixture)
    staff: User,
):
    manage = f'href="{reverse("manage:users")}"'
    for user, sees in ((world.alice, False), (staff, True)):
        client = client_for(user)
        for url in (reverse("home"), reverse("preferences")):
            page = client.get(url, follow=True).content.decode()
            header = page.split('class="topbar"', 1)[1].split("</header>", 1)[0]
            assert (manage in header) is sees, f"{user} {url}"


def test_the_two_factor_page_leads_back_unless_it_is_required(alice: User, settings):
    client = client_for(alice)
    page = client.get(reverse("twofactor_setup")).content.decode()
    assert f'href="{reverse("security")}">Cancel</a>' in page
    assert f'href="{reverse("home")}"' in page  # the menu's way back to the mail

    alice.require_2fa = True
    alice.save()
    required = client.get(reverse("twofactor_setup")).content.decode()
    assert "Cancel" not in required
    # Signing out is still there, as a plain link-like button in the header.
    assert f'action="{reverse("logout")}"' in required
