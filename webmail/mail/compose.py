"""The verbs for writing mail: record a message to send, and read its state.

``send_message`` builds the message (webmail.mime.compose) and records it
as an OutgoingMessage in one transaction; after the commit, once the page
has its answer, the account's worker is asked to submit it (door). The
worker (webmail/engine/send.py) sends it, files a copy in Sent and flags
the message it answers. A lost request is found by the sweep.

Callers pass an account they got through accounts.access (the user's own).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

from django.db import transaction
from django.http import Http404

from accounts.models import MailAccount
from webmail import door
from webmail.after_response import run_after_response
from webmail.mime.compose import (
    Outgoing,
    Recipient,
    build_message,
    envelope_recipients,
    new_message_id,
)
from webmail.models import Folder, Message, OutgoingMessage


class NoRecipients(ValueError):
    """A message with nobody to send it to."""


@dataclass(frozen=True)
class Original:
    """The message a reply or forward is about, and the flag it gets once sent."""

    folder_id: int
    uid: int
    flag: str  # "\\Answered" or "$Forwarded"


def sender_of(account: MailAccount) -> Recipient:
    """The From of the account's mail."""
    name = account.user.get_full_name() if account.user_id else ""
    return Recipient(name, account.email)


def _original_message(account: MailAccount, original: Original) -> Message:
    message = (
        Message.objects.filter(
            folder_id=original.folder_id,
            folder__account=account,
            uid=original.uid,
        )
        .select_related("folder")
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    return message


def send_message(
    account: MailAccount,
    outgoing: Outgoing,
    original: Original | None = None,
) -> OutgoingMessage:
    """Record a message for the worker to send; return the recorded row.

    outgoing's sender is replaced by the account's. Raises NoRecipients.
    """
    outgoing = _with_sender(account, outgoing)
    recipients = envelope_recipients(outgoing)
    if not recipients:
        raise NoRecipients()
    folder: Folder | None = None
    if original is not None:
        folder = _original_message(account, original).folder
    raw = build_message(outgoing)
    with transaction.atomic():
        row = OutgoingMessage.objects.create(
            account=account,
            raw=raw,
            message_id=outgoing.message_id or "",
            subject=outgoing.subject,
            envelope_from=account.email,
            recipients=recipients,
            original_folder=folder,
            original_uid=original.uid if original else None,
            original_flag=original.flag if original else "",
        )
        ask = partial(door.send_message, account.id, row.id)
        transaction.on_commit(lambda: run_after_response(ask))
    return row


def _with_sender(account: MailAccount, outgoing: Outgoing) -> Outgoing:
    # The Message-ID is chosen here, so the row knows the one the message carries.
    message_id = outgoing.message_id or new_message_id(account.email)
    return replace(outgoing, sender=sender_of(account), message_id=message_id)


def outgoing_for(account: MailAccount, outgoing_id: int) -> OutgoingMessage:
    """The account's recorded message with this id, or 404."""
    row = OutgoingMessage.objects.filter(account=account, id=outgoing_id).first()
    if row is None:
        raise Http404("No such message.")
    return row
