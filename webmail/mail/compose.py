"""The verbs for writing mail: record a message to send, and read its state.

``send_message`` builds the message (webmail.mime.compose) and records it
as an OutgoingMessage in one transaction; after the commit, once the page
has its answer, the account's worker is asked to submit it (door). The
worker (webmail/engine/compose.py) sends it, files a copy in Sent and flags
the message it answers. A lost request is found by the sweep.

Callers pass an account they got through accounts.access (the user's own).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from accounts.models import Identity, MailAccount
from webmail import door
from webmail.after_response import run_after_response
from webmail.mail import richtext
from webmail.mail.bodies import AttachmentInfo, open_message
from webmail.mime.compose import (
    Outgoing,
    Recipient,
    build_message,
    envelope_recipients,
    new_message_id,
)
from webmail.mime.filenames import safe_filename
from webmail.mime.text import html_to_text
from webmail.models import (
    SENT_COPY_FULL,
    Draft,
    Folder,
    Message,
    OutgoingMessage,
    SendState,
    Upload,
)
from webmail.shared.addresses import address_pairs
from webmail.shared.prepared import Prepared
from webmail.shared.uploads import WHOLE_MESSAGE


class NoRecipients(ValueError):
    """A message with nobody to send it to."""


@dataclass(frozen=True)
class Original:
    """The message a reply or forward is about, and the flag it gets once sent."""

    folder_id: int
    uid: int
    flag: str  # "\\Answered" or "$Forwarded"


def sender_of(account: MailAccount, identity: Identity | None = None) -> Recipient:
    """The From of the account's mail, or of one of its identities."""
    name = account.user.get_full_name() if account.user_id else ""
    if identity is not None:
        return Recipient(identity.name or name, identity.email)
    return Recipient(name, account.email)


# Asked on every send and every compose form: compiled once (shared.prepared).
_IDENTITIES = Prepared(
    lambda account_id: Identity.objects.filter(account_id=account_id)
)


def identities_of(account: MailAccount) -> list[Identity]:
    """The account's identities, the default first."""
    return _IDENTITIES.objects(account.id)


def identity_for(account: MailAccount, identity_id: int | None) -> Identity | None:
    """The account's identity with this id, else its default one, else None."""
    identities = identities_of(account)
    chosen = [i for i in identities if i.id == identity_id] or identities
    return chosen[0] if chosen else None


def with_signature(text: str, identity: Identity | None) -> str:
    """The text a form starts with, the identity's signature above any quote."""
    if identity is None or not identity.signature.strip():
        return text
    return f"\n\n-- \n{identity.signature.strip()}{text}"


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
    identity: Identity | None = None,
    uploads: Sequence[Upload] = (),
    forward_parts: Sequence[str] = (),
    send_at: datetime | None = None,
    draft_files: Sequence[str] = (),
    draft_id: int | None = None,
) -> OutgoingMessage:
    """Record a message for the worker to send; return the recorded row.

    outgoing's sender is replaced by the account's, or the identity's (with
    its Reply-To). Its files (uploads, and the parts of the original a
    forward keeps, and the files of the draft it was written in that are on
    the server: draft_files, keys of Draft.files) are added by the worker as
    it sends. It goes at send_at,
    or once UNDO_SEND_SECONDS have passed; until then it can be called off
    (webmail.mail.scheduled). The draft it was written in (draft_id) is
    tied to it in the same transaction: the worker removes the draft once
    the message is sent, and finds the draft's files in it. Raises
    NoRecipients.
    """
    outgoing = _with_sender(account, outgoing, identity)
    recipients = envelope_recipients(outgoing)
    if not recipients:
        raise NoRecipients()
    folder: Folder | None = None
    if original is not None:
        folder = _original_message(account, original).folder
    raw = build_message(outgoing)
    now = timezone.now()
    when = send_at or now + timedelta(seconds=settings.UNDO_SEND_SECONDS)
    wait = (when - now).total_seconds()
    row = OutgoingMessage(
        account=account,
        raw=raw,
        message_id=outgoing.message_id or "",
        subject=outgoing.subject,
        envelope_from=account.email,
        recipients=recipients,
        original_folder=folder,
        original_uid=original.uid if original else None,
        original_flag=original.flag if original else "",
        forward_parts=list(forward_parts) if original else [],
        draft_files=list(draft_files),
        next_attempt_at=when,
    )
    if uploads or draft_id is not None:
        with transaction.atomic():
            row.save(force_insert=True)
            if uploads:
                Upload.objects.filter(
                    account=account, id__in=[u.id for u in uploads], outgoing=None
                ).update(outgoing=row)
            if draft_id is not None:
                Draft.objects.filter(id=draft_id, account=account).update(sent_with=row)
    else:
        # The row alone: its INSERT is a transaction of its own (no BEGIN
        # and COMMIT round trips), and durable once it returns.
        row.save(force_insert=True)
    if wait <= door.SEND_COUNTDOWN_MAX:
        ask = partial(door.send_message, account.id, row.id, wait)
        transaction.on_commit(lambda: run_after_response(ask))
    return row


def _with_sender(
    account: MailAccount, outgoing: Outgoing, identity: Identity | None
) -> Outgoing:
    # The Message-ID is chosen here, so the row knows the one the message carries.
    message_id = outgoing.message_id or new_message_id(account.email)
    reply_to = outgoing.reply_to
    if identity is not None and identity.reply_to:
        reply_to = (Recipient("", identity.reply_to),)
    return replace(
        outgoing,
        sender=sender_of(account, identity),
        reply_to=reply_to,
        message_id=message_id,
    )


def outgoing_for(account: MailAccount, outgoing_id: int) -> OutgoingMessage:
    """The account's recorded message with this id, or 404."""
    row = OutgoingMessage.objects.filter(account=account, id=outgoing_id).first()
    if row is None:
        raise Http404("No such message.")
    return row


# Replies and forwards -----------------------------------------------------------

REPLY, REPLY_ALL, FORWARD = "reply", "reply_all", "forward"
# The original goes whole, as an attachment (message/rfc822), not quoted.
FORWARD_ATTACHED = "forward_attached"
MODES = (REPLY, REPLY_ALL, FORWARD, FORWARD_ATTACHED)
# "Re:", "Fwd:", "Fw:", "AW:", "SV:", "TR:", "Re[2]:", with ASCII or full-width colon.
_PREFIXES = re.compile(r"^\s*((re|fwd?|aw|sv|tr)\s*(\[\d+\])?\s*[:\uff1a]\s*)+", re.I)


@dataclass(frozen=True)
class Start:
    """What a compose form starts with."""

    to: str = ""
    cc: str = ""
    subject: str = ""
    text: str = ""
    # The same as HTML, for the editor (webmail.mail.richtext).
    html: str = ""
    original: Original | None = None
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    identity_id: int | None = None
    # A forward's files, kept unless the user removes them.
    attachments: tuple[AttachmentInfo, ...] = ()


def start_new(account: MailAccount) -> Start:
    """The form of a new message: the default identity and its signature."""
    identity = identity_for(account, None)
    return Start(
        text=with_signature("", identity),
        html=richtext.start_html(identity),
        identity_id=identity.id if identity else None,
    )


def _reply_identity(account: MailAccount, message: Message) -> Identity | None:
    """The identity the original was sent to, else the default one."""
    sent_to = {
        a.lower() for _, a in address_pairs(message.to) + address_pairs(message.cc)
    }
    identities = identities_of(account)
    for identity in identities:
        if identity.email.lower() in sent_to:
            return identity
    return identities[0] if identities else None


def base_subject(subject: str) -> str:
    """The subject without its "Re:", "Fwd:", "AW:" ... prefixes, however many."""
    return _PREFIXES.sub("", subject).strip()


def formatted_addresses(pairs: Sequence[tuple[str, str]]) -> str:
    """Addresses as a To or Cc field holds them: "Name <a@b>, c@d"."""
    return ", ".join(Recipient(name, address).formatted() for name, address in pairs)


def _without(pairs: list[tuple[str, str]], drop: set[str]) -> list[tuple[str, str]]:
    kept, seen = [], set(drop)
    for name, address in pairs:
        if address.lower() not in seen:
            seen.add(address.lower())
            kept.append((name, address))
    return kept


def quote(text: str) -> str:
    """Quote text with '>' as mail programs do ('>>' for what was quoted)."""
    lines = text.rstrip("\n").split("\n")
    return "\n".join(
        ">" + line if line.startswith(">") else "> " + line for line in lines
    )


def _sender_line(message: Message) -> str:
    return message.from_name or message.from_address or gettext("(unknown sender)")


def start_reply(account: MailAccount, folder_id: int, uid: int, mode: str) -> Start:
    """The form of a reply, reply to all, or forward of an account's message."""
    if mode not in MODES:
        raise Http404("No such mode.")
    message = _original_message(account, Original(folder_id, uid, ""))
    body = open_message(account, message.folder, message)
    text = body.text or (html_to_text(body.html) if body.html else "")
    when = date_format(message.date, "DATETIME_FORMAT") if message.date else ""
    sender = (message.from_name, message.from_address)
    if mode == FORWARD_ATTACHED:
        identity = identity_for(account, None)
        whole = AttachmentInfo(
            WHOLE_MESSAGE,
            f"{safe_filename(message.subject or '', 'message')}.eml",
            "message/rfc822",
            message.size,
            "",
        )
        return Start(
            subject=f"Fwd: {base_subject(message.subject)}",
            text=with_signature("", identity),
            html=richtext.start_html(identity),
            original=Original(folder_id, uid, "$Forwarded"),
            identity_id=identity.id if identity else None,
            attachments=(whole,),
        )
    if mode == FORWARD:
        header = [gettext("---------- Forwarded message ----------")]
        header.append(
            gettext("From: %(sender)s") % {"sender": formatted_addresses([sender])}
        )
        if when:
            header.append(gettext("Date: %(date)s") % {"date": when})
        header.append(gettext("Subject: %(subject)s") % {"subject": message.subject})
        listed = formatted_addresses(address_pairs(message.to))
        if listed:
            header.append(gettext("To: %(to)s") % {"to": listed})
        identity = identity_for(account, None)
        return Start(
            subject=f"Fwd: {base_subject(message.subject)}",
            text=with_signature("\n\n" + "\n".join(header) + "\n\n" + text, identity),
            html=richtext.reply_html(identity, "\n".join(header), body.html, text),
            original=Original(folder_id, uid, "$Forwarded"),
            identity_id=identity.id if identity else None,
            # Files inside a winmail.dat are not parts the worker can fetch.
            attachments=tuple(a for a in body.attachments if "~" not in a.part_id),
        )
    identity = _reply_identity(account, message)
    own = {account.email.lower()} | {i.email.lower() for i in identities_of(account)}
    answer_to = address_pairs(body.reply_to) or [sender]
    to, cc = _without(answer_to, set()), []
    if mode == REPLY_ALL:
        to = _without(answer_to + address_pairs(message.to), own)
        cc = _without(address_pairs(message.cc), own | {a.lower() for _, a in to})
        if not to:  # a reply to one's own message: back to its recipients
            to = _without(answer_to, set())
    wrote = gettext("On %(date)s, %(sender)s wrote:") % {
        "date": when,
        "sender": _sender_line(message),
    }
    references = tuple(message.references.split()) or tuple(message.in_reply_to.split())
    if message.message_id:
        references = (*references, message.message_id)
    return Start(
        to=formatted_addresses(to),
        cc=formatted_addresses(cc),
        subject=f"Re: {base_subject(message.subject)}",
        text=with_signature(f"\n\n{wrote}\n{quote(text)}\n" if text else "", identity),
        html=richtext.reply_html(identity, wrote, body.html, text),
        original=Original(folder_id, uid, "\\Answered"),
        in_reply_to=message.message_id,
        references=references,
        identity_id=identity.id if identity else None,
    )


# How long after sending the page waits to hear of the copy in Sent.
COPY_WAIT = timedelta(seconds=60)


@dataclass(frozen=True)
class SendStatus:
    """What the page says of a message the user sent."""

    state: str  # "waiting", "sending", "sent", "failed" or "cancelled"
    subject: str
    reason: str = ""
    # Sent, and the copy in Sent is still being saved: the page asks again.
    copy_pending: bool = False
    # Sent, but the server refused the copy in Sent: the mailbox is full.
    copy_refused_full: bool = False
    # Waiting for its time ("waiting"): when it goes; until then it can be
    # undone or called off. soon: within a minute (the page watches it go).
    send_at: datetime | None = None
    soon: bool = False


def _reason(row: OutgoingMessage) -> str:
    detail = row.error_detail
    kinds = {
        "recipient": gettext("The mail server refused the recipient %(recipient)s."),
        "login": gettext("The mail server refused the username or password."),
        "unreachable": gettext("The mail server could not be reached."),
        "certificate": gettext("The mail server's certificate is not trusted."),
        "tls": gettext("The mail server offers no encryption; nothing was sent."),
        "host": gettext("The mail server may not be used."),
        "settings": gettext("This account has no outgoing mail server."),
        "size": gettext("The message is too large for the mail server."),
        "attachment": gettext(
            "A file of the forwarded message is no longer on the server."
        ),
        "draft_file": gettext("A file of the draft is no longer on the server."),
        "interrupted": gettext(
            "Sending was interrupted; the message may or may not have gone out."
        ),
    }
    reason = kinds.get(row.error_kind, gettext("The mail server refused the message."))
    reason = reason % {"recipient": row.refused_recipient}
    return f"{reason} ({detail})" if detail else reason


def send_status(row: OutgoingMessage) -> SendStatus:
    """The state of a recorded message, in the user's words."""
    if row.state == SendState.SENT:
        # A worker killed before the copy leaves it "" for good: the page
        # stops asking after COPY_WAIT.
        recent = row.sent_at is not None and timezone.now() - row.sent_at < COPY_WAIT
        return SendStatus(
            "sent",
            row.subject,
            copy_pending=not row.sent_copy and recent,
            copy_refused_full=row.sent_copy == SENT_COPY_FULL,
        )
    if row.state == SendState.FAILED:
        return SendStatus("failed", row.subject, _reason(row))
    if row.state == SendState.CANCELLED:
        return SendStatus("cancelled", row.subject)
    if row.attempts and row.error_kind:  # waiting to try again
        return SendStatus("sending", row.subject, _reason(row))
    now = timezone.now()
    if row.state == SendState.PENDING and row.next_attempt_at > now:
        soon = row.next_attempt_at - now <= timedelta(seconds=60)
        return SendStatus(
            "waiting", row.subject, send_at=row.next_attempt_at, soon=soon
        )
    return SendStatus("sending", row.subject)
