"""Address autocomplete, the address book and its vCard files, in Django's client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from tests.ui.mail import account_of, add_folder, add_message
from webmail.engine import addresses as engine_addresses
from webmail.engine.addresses import (
    Use,
    collect_from_cache,
    more_to_collect,
    record_uses,
)
from webmail.models import CollectedAddress, Contact

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _suggested(client: Client, typed: str) -> list[str]:
    response = client.get("/mail/addresses", {"q": typed})
    assert response.status_code == 200
    return [r["address"] for r in response.json()["results"]]


def _uses(address: str, name: str, days_ago: float, times: int = 1) -> list[Use]:
    when = timezone.now() - timedelta(days=days_ago)
    return [Use(address, name, when)] * times


def test_suggestions_rank_by_how_often_and_how_recently(alice):
    record_uses(
        alice.id,
        _uses("old.friend@example.net", "Old Friend", 200, times=5)
        + _uses("often@example.net", "Often", 1, times=3)
        + _uses("once@example.net", "Once", 1)
        + _uses("other@example.net", "Other", 0.5, times=2),
    )
    record_uses(alice.id, _uses("once@example.net", "Once Again", 0))

    assert _suggested(_client(alice), "o") == [
        "often@example.net",
        "once@example.net",  # two uses now, like "other", but one of them newer
        "other@example.net",
        "old.friend@example.net",
    ]
    once = CollectedAddress.objects.get(user=alice, key="once@example.net")
    assert (once.count, once.name) == (2, "Once Again")


def test_the_address_book_comes_first(alice):
    record_uses(alice.id, _uses("dana@example.net", "Dana", 0, times=20))
    client = _client(alice)
    client.post("/mail/contacts/", {"name": "Dan Book", "email": "dan@example.org"})
    results = client.get("/mail/addresses", {"q": "dan"}).json()["results"]
    assert [(r["address"], r["book"]) for r in results] == [
        ("dan@example.org", True),
        ("dana@example.net", False),
    ]


def test_names_match_by_the_start_of_any_word_in_any_width(alice):
    record_uses(alice.id, _uses("hanako@example.jp", "山田 花子", 0))
    record_uses(alice.id, _uses("ken@example.jp", "Ken Yamamoto", 0))
    client = _client(alice)
    assert _suggested(client, "花子") == ["hanako@example.jp"]
    assert _suggested(client, "山田花") == ["hanako@example.jp"]
    assert _suggested(client, "yama") == ["ken@example.jp"]
    full_width_ken = "\uff2b\uff25\uff2e"  # as an input method may type it
    assert _suggested(client, full_width_ken) == ["ken@example.jp"]
    assert _suggested(client, "amamoto") == []  # not the start of a word
    assert _suggested(client, "example") == []  # nor of the address
    assert _suggested(client, "  ") == []


def test_no_more_than_ten_are_offered(alice):
    record_uses(alice.id, [u for n in range(30) for u in _uses(f"p{n}@x.test", "", 0)])
    assert len(_suggested(_client(alice), "p")) == 10


def test_mail_in_the_cache_is_collected_but_not_the_users_own_or_spam(alice):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    junk = add_folder(account, "Junk", "\\Junk")
    add_message(
        inbox,
        1,
        "Plans",
        from_name="Erin",
        from_address="erin@example.net",
        to=[["Alice", "alice@example.org"], ["Frank", "frank@example.net"]],
        cc=[["", "gina@example.net"]],
    )
    add_message(inbox, 2, "More", from_name="Erin E.", from_address="ERIN@example.net")
    add_message(junk, 1, "Win", from_address="spam@example.biz")

    assert collect_from_cache(account.id) == 3
    assert collect_from_cache(account.id) == 0  # nothing counted twice

    collected = {
        c.key: (c.count, c.name) for c in CollectedAddress.objects.filter(user=alice)
    }
    assert collected == {
        "erin@example.net": (2, "Erin"),  # the newer message's name
        "frank@example.net": (1, "Frank"),
        "gina@example.net": (1, ""),
    }


def test_another_user_is_never_offered_alices_addresses(alice, bob):
    record_uses(alice.id, _uses("secret@example.net", "Secret", 0))
    Contact.objects.create(
        user=alice, email="book@example.net", search=" book@example.net"
    )
    assert _suggested(_client(bob), "s") == []
    assert _suggested(_client(bob), "b") == []
    assert (
        "book@example.net" not in _client(bob).get("/mail/contacts/").content.decode()
    )
    export = _client(bob).get("/mail/contacts/export.vcf").content
    assert b"book@example.net" not in export


def test_address_book_add_edit_remove(alice):
    client = _client(alice)
    response = client.post(
        "/mail/contacts/", {"name": "佐藤 一郎", "email": "ichiro@example.jp"}
    )
    assert response.status_code == 302
    contact = Contact.objects.get(user=alice)
    assert "佐藤 一郎" in client.get("/mail/contacts/").content.decode()

    client.post(
        f"/mail/contacts/{contact.id}/",
        {"name": "佐藤 次郎", "email": "jiro@example.jp"},
    )
    contact.refresh_from_db()
    assert (contact.name, contact.email) == ("佐藤 次郎", "jiro@example.jp")
    assert _suggested(client, "次郎") == ["jiro@example.jp"]

    client.post(f"/mail/contacts/{contact.id}/delete")
    assert not Contact.objects.filter(user=alice).exists()
    assert _suggested(client, "次郎") == []


def test_a_bad_address_in_the_book_is_said_and_kept(alice):
    response = _client(alice).post("/mail/contacts/", {"name": "Kept", "email": "nope"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“nope” is not an email address." in page and 'value="Kept"' in page
    assert not Contact.objects.exists()


PHONE_VCF = (
    b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
    b"N;CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE:=8E=52=93=63;=89=D4=8E=71\r\n"
    b"EMAIL;INTERNET:hanako@example.jp\r\nEND:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bad Address\r\nEMAIL:not-an-address\r\n"
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:No Address\r\nEND:VCARD\r\n"
)


def test_vcard_import_and_export_round_trip_with_japanese_names(alice, bob):
    client = _client(alice)
    client.post(
        "/mail/contacts/", {"name": "鈴木 一郎, 営業部", "email": "suzuki@example.jp"}
    )
    client.post("/mail/contacts/", {"name": "", "email": "noname@example.org"})
    client.post(
        "/mail/contacts/",
        {"name": "とても長い名前の人" * 6, "email": "long@example.jp"},
    )
    exported = client.get("/mail/contacts/export.vcf")
    assert exported["Content-Type"].startswith("text/vcard")
    data = exported.content
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))

    bob_client = _client(bob)
    bob_client.post(
        "/mail/contacts/import",
        {"file": SimpleUploadedFile("contacts.vcf", data, "text/vcard")},
    )
    mine = sorted(Contact.objects.filter(user=alice).values_list("name", "email"))
    his = sorted(Contact.objects.filter(user=bob).values_list("name", "email"))
    assert his == mine

    # Importing the same file again adds nothing.
    page = bob_client.post(
        "/mail/contacts/import",
        {"file": SimpleUploadedFile("contacts.vcf", data, "text/vcard")},
        follow=True,
    ).content.decode()
    assert Contact.objects.filter(user=bob).count() == 3
    assert "3 entries were in the book already." in page


def test_a_phones_vcard_21_in_shift_jis_is_read(alice):
    page = (
        _client(alice)
        .post(
            "/mail/contacts/import",
            {"file": SimpleUploadedFile("phone.vcf", PHONE_VCF, "text/x-vcard")},
            follow=True,
        )
        .content.decode()
    )
    assert list(Contact.objects.filter(user=alice).values_list("name", "email")) == [
        ("山田 花子", "hanako@example.jp")
    ]
    assert "1 entry added." in page
    assert "Not added: not-an-address" in page


def test_an_import_without_a_file_says_what_to_choose(alice):
    page = _client(alice).post("/mail/contacts/import", follow=True).content.decode()
    assert "Choose a vCard file (.vcf) of at most 5 MB." in page


def test_a_large_mailbox_is_collected_a_few_batches_a_run(alice, monkeypatch):
    account = account_of(alice)
    inbox = add_folder(account, "INBOX")
    for uid in range(1, 6):
        add_message(inbox, uid, "Hi", from_address=f"p{uid}@example.net")
    monkeypatch.setattr(engine_addresses, "BATCH", 2)

    assert collect_from_cache(account.id, batches=2) == 4
    assert more_to_collect(account.id)
    assert collect_from_cache(account.id, batches=2) == 1
    assert not more_to_collect(account.id)
    assert CollectedAddress.objects.filter(user=alice).count() == 5
