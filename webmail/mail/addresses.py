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

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404

from accounts.models import User
from webmail.mime.vcard import Card, read_vcards, write_vcards
from webmail.models import AddressKey, Contact
from webmail.shared.addresses import (
    KEY_LENGTH,
    fold,
    search_text,
    typed_key,
    typed_pattern,
)

LIMIT = 10
CHUNK = 200
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
    for name, address in _collected(user, typed, limit + len(found)):
        found.setdefault(fold(address), Suggestion(name, address, False))
    return list(found.values())[:limit]


def _collected(user: User, typed: str, limit: int) -> list[tuple[str, str]]:
    """The best-ranked collected addresses with a word that starts as typed.

    Read in rank order from one index (AddressKey: the words' first
    characters); when more was typed than a key holds, the rows sharing
    the key are narrowed here, a chunk at a time: a database that guesses
    how many rows LIKE keeps may choose to read the whole table instead.
    """
    rows = (
        AddressKey.objects.filter(user=user, key=typed_key(typed))
        .order_by("-rank")
        .values_list("collected__name", "collected__address", "collected__search")
    )
    if len(fold(typed)) <= KEY_LENGTH:
        return [(name, address) for name, address, _ in rows[:limit]]
    pattern = typed_pattern(typed)
    found: list[tuple[str, str]] = []
    for start in itertools.count(0, CHUNK):
        chunk = list(rows[start : start + CHUNK])
        found += [(n, a) for n, a, search in chunk if pattern in search]
        if len(found) >= limit or len(chunk) < CHUNK:
            return found[:limit]
    return found


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
