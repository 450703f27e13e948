"""Identities: the From, Reply-To and signature a message is written with."""

from email import message_from_bytes, policy

import pytest

from accounts.models import Identity, MailAccount, User
from webmail.mail import compose
from webmail.mime.compose import Outgoing, Recipient
from webmail.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    alice = User.objects.create_user("alice", password="x", first_name="Alice")
    account = MailAccount(user=alice, email="alice@example.org", imap_host="h")
    account.imap_username, account.imap_password = "alice", "x"
    account.save()
    return account


def _identities(account):
    work = Identity.objects.create(
        account=account,
        name="Alice at work",
        email="alice@work.example",
        reply_to="team@work.example",
        signature="Alice, Work Inc.",
        is_default=True,
    )
    home = Identity.objects.create(account=account, email="alice@home.example")
    return work, home


def test_a_new_message_starts_with_the_default_identity_and_its_signature(account):
    work, _ = _identities(account)
    start = compose.start_new(account)
    assert start.identity_id == work.id
    assert start.text == "\n\n-- \nAlice, Work Inc."


def test_without_identities_the_account_address_is_the_sender(account):
    # An empty message: no text, no signature, no identity (the editor
    # starts on one empty line).
    start = compose.start_new(account)
    assert (start.text, start.identity_id, start.to) == ("", None, "")
    assert compose.identity_for(account, None) is None
    assert compose.sender_of(account) == Recipient("Alice", "alice@example.org")


def test_the_chosen_identity_sets_from_and_reply_to(account):
    work, home = _identities(account)
    outgoing = Outgoing(sender=Recipient("", "x@x"), to=(Recipient("", "b@b.test"),))

    row = compose.send_message(account, outgoing, identity=work)
    sent = message_from_bytes(bytes(row.raw), policy=policy.default)
    assert sent["From"] == "Alice at work <alice@work.example>"
    assert sent["Reply-To"] == "team@work.example"
    assert row.envelope_from == "alice@example.org"

    row = compose.send_message(account, outgoing, identity=home)
    sent = message_from_bytes(bytes(row.raw), policy=policy.default)
    assert sent["From"] == "Alice <alice@home.example>"
    assert sent["Reply-To"] is None


def test_an_identity_of_another_account_is_never_chosen(account):
    work, _ = _identities(account)
    bob = User.objects.create_user("bob", password="x")
    other = MailAccount.objects.create(user=bob, email="bob@example.org")
    stranger = Identity.objects.create(account=other, email="bob@else.example")
    assert compose.identity_for(account, stranger.id) == work


def test_a_reply_uses_the_identity_the_original_was_sent_to(account):
    work, home = _identities(account)
    to_home = Message(to=[["", "Alice@Home.example"]], cc=[])
    to_nobody = Message(to=[["", "list@example.net"]], cc=[])
    assert compose._reply_identity(account, to_home) == home
    assert compose._reply_identity(account, to_nobody) == work
