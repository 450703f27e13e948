"""Submitting the messages users send, through their account's SMTP server.

The page records an OutgoingMessage with its bytes already built
(webmail/mail/compose.py); the task webmail.account.send_message brings
it here. A message is claimed with a conditional update (pending ->
sending) so that a redelivered or repeated task does nothing, submitted
with smtplib to the addresses accounts.hosts checked (TLS verified with
MAIL_CA_FILE), and marked sent. Only then is a copy APPENDed to the Sent
folder, and the message it answers flagged through the outbox.

Every recipient is tried before DATA: if the server refuses one, nothing
is sent to anyone, and the message fails naming that recipient, so that
the user can fix the address and send it again to all. Errors that waiting
can cure (the server down, a 4xx reply) put it back to pending with a
later next_attempt_at, for the sweep; after MAX_ATTEMPTS it fails.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts import hosts, mailservers
from accounts.models import MailAccount
from webmail.engine import attachments, draftfiles, folderlist
from webmail.engine.connections import with_session
from webmail.imap import ImapError, OverQuota
from webmail.mime.assemble import dot_stuffed
from webmail.models import (
    SENT_COPY_FULL,
    AccountState,
    Folder,
    OutgoingMessage,
    SendState,
)
from webmail.shared import events
from webmail.shared.changes import flags_event, set_flags_by_ids

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# A message still "sending" after this was left by a worker that died.
SENDING_STALE = timedelta(minutes=15)
SAVED = "saved"


class _Transient(Exception):
    """Worth another try later: the server is down or said 4xx."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class _Permanent(Exception):
    """Trying again will not help; the user must change something."""

    def __init__(self, kind: str, detail: str, recipient: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.recipient = recipient


@dataclass(frozen=True)
class SendResult:
    """What a send did: its state, and whether the outbox has a flag to push."""

    state: str
    flagged: bool = False
    sent_folder_id: int | None = None


def _claim(outgoing_id: int) -> OutgoingMessage | None:
    # Only once its time has come: until then the user may undo it.
    now = timezone.now()
    taken = OutgoingMessage.objects.filter(
        id=outgoing_id, state=SendState.PENDING, next_attempt_at__lte=now
    ).update(state=SendState.SENDING, claimed_at=now, updated_at=now)
    if not taken:
        return None
    return OutgoingMessage.objects.select_related("account").get(id=outgoing_id)


def _reply_text(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _client(account: MailAccount) -> smtplib.SMTP:
    """Connect and log in, or raise _Transient / _Permanent."""
    host, port = account.smtp_host, account.smtp_port
    security = account.smtp_security
    if not host:
        raise _Permanent("settings", "")
    if security == "none" and not hosts.plaintext_allowed(host):
        raise _Permanent("tls", host)
    try:
        addresses = hosts.check_host(host, port)
    except hosts.HostError as exc:
        raise _Permanent("host", exc.message) from None
    timeout = float(settings.MAIL_CONNECT_TIMEOUT)
    try:
        client = mailservers.open_smtp(host, port, security, addresses, timeout)
    except ssl.SSLCertVerificationError as exc:
        raise _Permanent("certificate", str(exc.verify_message or exc)) from None
    except smtplib.SMTPNotSupportedError:
        raise _Permanent("tls", host) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _Transient("unreachable", str(exc) or type(exc).__name__) from None
    if account.smtp_username:
        try:
            client.login(account.smtp_username, account.smtp_password)
        except smtplib.SMTPAuthenticationError as exc:
            client.close()
            detail = _reply_text(exc.smtp_code, exc.smtp_error)
            raise _Permanent("login", detail) from None
        except (OSError, smtplib.SMTPException) as exc:
            client.close()
            raise _Transient("unreachable", str(exc)) from None
    _remember_size(account.id, client)
    return client


def _server_size(client: smtplib.SMTP) -> int | None:
    value = client.esmtp_features.get("size", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _remember_size(account_id: int, client: smtplib.SMTP) -> None:
    """Keep the largest message the server takes (EHLO SIZE) for the page."""
    size = _server_size(client)
    state = AccountState.objects.filter(account_id=account_id)
    if not state.exclude(smtp_max_size=size).exists() and state.exists():
        return
    AccountState.objects.update_or_create(
        account_id=account_id, defaults={"smtp_max_size": size}
    )


def _check(code: int, text: bytes | str, what: str, recipient: str = "") -> None:
    if 200 <= code < 300:
        return
    detail = _reply_text(code, text)
    if 400 <= code < 500 or code < 0:
        raise _Transient("refused", detail)
    raise _Permanent(what, detail, recipient)


def _data(client: smtplib.SMTP, source: BinaryIO) -> tuple[int, bytes]:
    """DATA with the message read from source as it goes out."""
    code, text = client.docmd("DATA")
    if code != 354:
        return code, text
    for block in dot_stuffed(source):
        client.send(block)
    return client.getreply()


def _submit(message: OutgoingMessage, source: BinaryIO) -> None:
    """One SMTP transaction; returns once the server has taken the message."""
    client = _client(message.account)
    size = source.seek(0, 2)
    source.seek(0)
    try:
        limit = _server_size(client)
        if limit is not None and size > limit:
            raise _Permanent("size", "")
        options = [f"SIZE={size}"] if client.has_extn("size") else []
        code, text = client.mail(message.envelope_from, options)
        _check(code, text, "refused")
        for recipient in message.recipients:
            code, text = client.rcpt(recipient)
            _check(code, text, "recipient", recipient)
        code, text = _data(client, source)
        _check(code, text, "size" if code == 552 else "refused")
    except smtplib.SMTPResponseException as exc:
        _check(exc.smtp_code, exc.smtp_error, "refused")
        detail = _reply_text(exc.smtp_code, exc.smtp_error)
        raise _Transient("refused", detail) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise _Transient("unreachable", str(exc) or type(exc).__name__) from None
    except (_Transient, _Permanent):
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.rset()
        raise
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _record_failure(message: OutgoingMessage, exc: _Transient | _Permanent) -> str:
    attempts = message.attempts + 1
    state = SendState.FAILED
    later = timezone.now()
    if isinstance(exc, _Transient) and attempts < MAX_ATTEMPTS:
        state = SendState.PENDING
        later += timedelta(seconds=min(30 * 2 ** (attempts - 1), 1800))
    recipient = exc.recipient if isinstance(exc, _Permanent) else ""
    OutgoingMessage.objects.filter(id=message.id, state=SendState.SENDING).update(
        state=state,
        attempts=attempts,
        error_kind=exc.kind,
        error_detail=exc.detail[:2000],
        refused_recipient=recipient,
        next_attempt_at=later,
        updated_at=timezone.now(),
    )
    logger.info("Send %s of account %s: %s", message.id, message.account_id, exc)
    return state


def sent_folder(account_id: int) -> Folder | None:
    """The account's Sent folder: special-use \\Sent, or the folder named Sent."""
    folders = Folder.objects.filter(account_id=account_id, selectable=True)
    return (
        folders.filter(special_use__iexact="\\Sent").first()
        or folders.filter(Q(name__iexact="Sent") | Q(display_name__iexact="Sent"))
        .order_by("name")
        .first()
    )


def _save_copy(message: OutgoingMessage, source: BinaryIO) -> int | None:
    """APPEND the message to Sent (made if missing); return the folder's id."""
    account_id = message.account_id
    folder = sent_folder(account_id)
    if folder is None:
        folderlist.sync_folder_list(account_id)
        folder = sent_folder(account_id)
    if folder is None:
        with_session(account_id, lambda session: session.create_folder("Sent"))
        folderlist.sync_folder_list(account_id)
        folder = sent_folder(account_id)
    if folder is None:
        raise ImapError("There is no Sent folder.")
    name = folder.name
    with_session(account_id, lambda session: session.append(name, source, ["\\Seen"]))
    return folder.id


def _flag_original(message: OutgoingMessage) -> bool:
    folder_id, uid = message.original_folder_id, message.original_uid
    if folder_id is None or uid is None or not message.original_flag:
        return False
    user_id = message.account.user_id
    changed = set_flags_by_ids(
        user_id, message.account_id, folder_id, [uid], [message.original_flag], ()
    )
    if changed:
        event = {**flags_event(folder_id, changed), "account": message.account_id}
        events.publish(user_id, event)
    return bool(changed)


def send(outgoing_id: int) -> SendResult | None:
    """Submit one recorded message; None if it is gone or not pending."""
    message = _claim(outgoing_id)
    if message is None:
        return None
    with contextlib.ExitStack() as stack:
        try:
            source = stack.enter_context(
                attachments.message_file(message, draftfiles.for_send)
            )
            _submit(message, source)
        except attachments.FilesMissing as exc:
            kind = "draft_file" if isinstance(exc, draftfiles.Missing) else "attachment"
            return SendResult(_record_failure(message, _Permanent(kind, "")))
        except ImapError as exc:
            failure = _Transient("unreachable", str(exc))
            return SendResult(_record_failure(message, failure))
        except (_Transient, _Permanent) as exc:
            return SendResult(_record_failure(message, exc))
        return _sent(message, source)
    return None  # pragma: no cover (the with block always returns)


def _sent(message: OutgoingMessage, source: BinaryIO) -> SendResult:
    now = timezone.now()
    OutgoingMessage.objects.filter(id=message.id, state=SendState.SENDING).update(
        state=SendState.SENT,
        attempts=message.attempts + 1,
        sent_at=now,
        error_kind="",
        error_detail="",
        refused_recipient="",
        updated_at=now,
    )
    flagged = _flag_original(message)
    try:
        folder_id = _save_copy(message, source)
    except ImapError as exc:
        why = SENT_COPY_FULL if isinstance(exc, OverQuota) else str(exc)[:255]
        OutgoingMessage.objects.filter(id=message.id).update(sent_copy=why)
        logger.info("No Sent copy of %s: %s", message.id, exc)
        attachments.forget_uploads(message)
        return SendResult(SendState.SENT, flagged)
    OutgoingMessage.objects.filter(id=message.id).update(sent_copy=SAVED)
    attachments.forget_uploads(message)
    return SendResult(SendState.SENT, flagged, folder_id)


def seconds_to_wait(outgoing_id: int) -> float:
    """Seconds until a waiting message is due (0: not waiting, or due now).

    A task that came a moment early (the broker's clock) asks again for
    then, rather than leave the message to the next sweep.
    """
    row = (
        OutgoingMessage.objects.filter(id=outgoing_id, state=SendState.PENDING)
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if row is None:
        return 0.0
    return max(0.0, (row - timezone.now()).total_seconds())


def due() -> list[tuple[int, int]]:
    """(account id, message id) of the messages waiting to be sent now.

    Messages a dead worker left in "sending" are failed here, never sent
    again: the server may have taken them before the worker died.
    """
    now = timezone.now()
    OutgoingMessage.objects.filter(
        state=SendState.SENDING, claimed_at__lt=now - SENDING_STALE
    ).update(state=SendState.FAILED, error_kind="interrupted", updated_at=now)
    rows = OutgoingMessage.objects.filter(
        state=SendState.PENDING, next_attempt_at__lte=now
    ).values_list("account_id", "id")
    return list(rows)
