"""Messages waiting to be sent: undoing a send, and messages sent later.

A message the user sends waits UNDO_SEND_SECONDS in the database before
the worker may take it (webmail.mail.compose.send_message), or until the
time the user chose. Until the worker claims it (a conditional update from
"pending" to "sending", webmail/engine/compose.py), it can be called off
from any tab: the same kind of conditional update to "cancelled", so that
exactly one of the two wins. The message then comes back for editing, as
the draft it was written in or as a new one.

Callers pass an account they got through accounts.access (the user's own).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from django.db import transaction
from django.utils import timezone

from accounts.models import MailAccount
from webmail.mail import drafts
from webmail.mime import policies
from webmail.models import Draft, OutgoingMessage, SendState


def waiting(account: MailAccount) -> list[OutgoingMessage]:
    """The account's messages waiting for their time, soonest first."""
    return list(
        OutgoingMessage.objects.filter(
            account=account,
            state=SendState.PENDING,
            attempts=0,
            next_attempt_at__gt=timezone.now(),
        )
        .only("id", "subject", "recipients", "next_attempt_at")
        .order_by("next_attempt_at", "id")
    )


def cancel(account: MailAccount, outgoing_id: int) -> int | None:
    """Call off a message not yet taken by the worker; return its draft's id.

    None if it is gone already (sent, sending, failed or called off). The
    draft it was written in comes back as it was; a message written without
    one becomes a new draft (also stored in Drafts by the worker).
    """
    with transaction.atomic():
        called_off = OutgoingMessage.objects.filter(
            id=outgoing_id, account=account, state=SendState.PENDING
        ).update(state=SendState.CANCELLED, updated_at=timezone.now())
        if not called_off:
            return None
        row = OutgoingMessage.objects.get(id=outgoing_id)
        # Its files go back to being the form's, not the message's.
        row.uploads.update(outgoing=None)
        draft = Draft.objects.filter(account=account, sent_with=row).first()
        if draft is not None:
            Draft.objects.filter(id=draft.id).update(sent_with=None)
            return draft.id
        return drafts.save(account, None, _fields(row), None).draft_id


def _fields(row: OutgoingMessage) -> dict[str, str]:
    """The compose form's fields of a recorded message."""
    message = BytesParser(policy=policies.READ).parsebytes(bytes(row.raw))
    assert isinstance(message, EmailMessage)
    shown = {
        address.lower()
        for _, address in getaddresses(
            [str(message.get("To", "")), str(message.get("Cc", ""))]
        )
    }
    bcc = [a for a in row.recipients if a.lower() not in shown]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    # As the form holds text: lines end in LF, not SMTP's CRLF.
    text = plain.get_content().replace("\r\n", "\n") if plain is not None else ""
    markup = html.get_content().replace("\r\n", "\n") if html is not None else ""
    return {
        "to": str(message.get("To", "")),
        "cc": str(message.get("Cc", "")),
        "bcc": ", ".join(bcc),
        "subject": str(message.get("Subject", "")),
        "body": text,
        "format": "html" if html is not None else "text",
        "html": markup,
        "in_reply_to": str(message.get("In-Reply-To", "")),
        "references": str(message.get("References", "")),
    }
