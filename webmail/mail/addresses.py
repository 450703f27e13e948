"""The verbs of the address book and of address autocomplete.

``suggest`` answers what the To, Cc and Bcc fields ask as the user types:
address-book entries first (by name), then the addresses the worker
collected from the user's mail (webmail/engine/addresses.py), best ranked
first, each address once. Both match the start of the address or of a
word of the name (webmail/shared/addresses.py).

Every function takes the signed-in user; an entry of another user's book
is a 404 like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404

from accounts.models import User
from webmail.mime.vcard import Card, read_vcards, write_vcards
from webmail.models import CollectedAddress, Contact
from webmail.shared.addresses import fold, search_text, typed_pattern

LIMIT = 10
MAX_CONTACTS = 5000


@dataclass(frozen=True)
class Suggestion:
    """One address to offer: its name, and whether it is in the book."""

    name: str
    address: str
    in_book: bool

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "address": self.address, "book": self.in_book}


def suggest(user: User, typed: str, limit: int = LIMIT) -> list[Suggestion]:
    """Up to limit addresses whose address or name words start with typed."""
    if not fold(typed):
        return []
    pattern = typed_pattern(typed)
    book = (
        Contact.objects.filter(user=user, search__contains=pattern)
        .order_by("name", "id")
        .values_list("name", "email")[:limit]
    )
    found: dict[str, Suggestion] = {}
    for name, address in book:
        found.setdefault(fold(address), Suggestion(name, address, True))
    collected = (
        CollectedAddress.objects.filter(user=user, search__contains=pattern)
        .order_by("-rank")
        .values_list("name", "address")[: limit + len(found)]
    )
    for name, address in collected:
        found.setdefault(fold(address), Suggestion(name, address, False))
    return list(found.values())[:limit]


# The address book -----------------------------------------------------------------


class BadContact(ValueError):
    """What the user typed is not an address."""


def contacts_of(user: User) -> list[Contact]:
    return list(Contact.objects.filter(user=user))


def contact_for(user: User, contact_id: int) -> Contact:
    """The user's entry with this id, or 404."""
    contact = Contact.objects.filter(user=user, id=contact_id).first()
    if contact is None:
        raise Http404("No such contact.")
    return contact


def _checked(name: str, email: str) -> tuple[str, str]:
    name, email = name.strip()[:255], email.strip()
    try:
        validate_email(email)
    except ValidationError:
        raise BadContact(email) from None
    return name, email


def save_contact(
    user: User, name: str, email: str, contact: Contact | None = None
) -> Contact:
    """Add an entry, or change this one; raises BadContact."""
    name, email = _checked(name, email)
    if contact is None:
        contact = Contact(user=user)
    contact.name, contact.email = name, email
    contact.search = search_text(email, name)
    contact.save()
    return contact


def delete_contact(contact: Contact) -> None:
    contact.delete()


@dataclass(frozen=True)
class Imported:
    """What an import did: entries added, already there, and addresses refused."""

    added: int
    known: int
    refused: tuple[str, ...]


def import_vcards(user: User, data: bytes) -> Imported:
    """Add the entries of a .vcf file; an entry the book has is not added twice."""
    have = {
        (fold(name), fold(email))
        for name, email in Contact.objects.filter(user=user).values_list(
            "name", "email"
        )
    }
    new: list[Contact] = []
    known = 0
    refused: list[str] = []
    for card in read_vcards(data):
        for address in card.emails:
            try:
                name, email = _checked(card.name, address)
            except BadContact:
                refused.append(address)
                continue
            key = (fold(name), fold(email))
            if key in have:
                known += 1
                continue
            have.add(key)
            search = search_text(email, name)
            new.append(Contact(user=user, name=name, email=email, search=search))
    room = max(MAX_CONTACTS - (len(have) - len(new)), 0)
    refused += [c.email for c in new[room:]]
    with transaction.atomic():
        Contact.objects.bulk_create(new[:room], batch_size=500)
    return Imported(len(new[:room]), known, tuple(refused))


def export_vcards(contacts: Iterable[Contact]) -> bytes:
    """The entries as a .vcf file (vCard 3.0)."""
    return write_vcards(Card(c.name, (c.email,)) for c in contacts)
