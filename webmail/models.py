"""The synchronized cache of mailbox metadata, and the outbox of user actions.

Folder and Message mirror what the IMAP server holds (never bodies); views
read them and nothing else. PendingOperation is the durable outbox: a user's
action is written here in the same transaction that updates the cache, and
the account's worker applies it on the server (webmail/engine/outbox.py).
"""

from __future__ import annotations

from django.db import connection, models
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Lower, Now, NullIf, Substr, Trim
from django.db.models.lookups import Exact

from accounts.models import MailAccount


class Folder(models.Model):
    """One mailbox on the server, with the sync state of its cache."""

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="folders"
    )
    # As the server spells it (modified UTF-7): what IMAP commands take.
    name = models.CharField(max_length=1000)
    display_name = models.CharField(max_length=1000)
    # Decoded names from the top level down, for the folder tree.
    path = models.JSONField(default=list)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delimiter = models.CharField(max_length=1, blank=True)
    special_use = models.CharField(max_length=20, blank=True)
    # The use the user gave this folder (the folders page): it wins over
    # the server's flag and the guess from names (servers without SPECIAL-USE).
    chosen_use = models.CharField(max_length=20, blank=True)
    flags = models.JSONField(default=list)
    subscribed = models.BooleanField(default=True)
    selectable = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uidnext = models.BigIntegerField(null=True, blank=True)
    highestmodseq = models.BigIntegerField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    unseen = models.PositiveIntegerField(default=0)
    # Messages with a UID at or above this are in the cache; older ones are
    # still being fetched (newest first). None: never synced; 1: complete.
    backfill_below_uid = models.BigIntegerField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True)

    class Meta:
        ordering = ["account", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="folder_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def complete(self) -> bool:
        """Whether every message of the folder is in the cache."""
        return self.backfill_below_uid is not None and self.backfill_below_uid <= 1


def _starts(prefix: str) -> Exact:
    """Whether the subject starts with prefix (lower case), in any case."""
    return Exact(Lower(Substr("subject", 1, len(prefix))), Value(prefix))


class Message(models.Model):
    """The metadata of one message: what a message list shows."""

    folder = models.ForeignKey(
        Folder, on_delete=models.CASCADE, related_name="messages"
    )
    uid = models.BigIntegerField()
    seen = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    forwarded = models.BooleanField(default=False)
    draft = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    # Flags other than the ones above (user keywords such as $Label1).
    keywords = models.JSONField(default=list)
    modseq = models.BigIntegerField(null=True, blank=True)
    date = models.DateTimeField(null=True, blank=True)
    internaldate = models.DateTimeField(null=True, blank=True)
    from_name = models.CharField(max_length=255, blank=True)
    from_address = models.CharField(max_length=255, blank=True)
    # [[name, address], ...]
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    subject = models.TextField(blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    size = models.PositiveIntegerField(default=0)
    has_attachments = models.BooleanField(default=False)
    # The start of the text, filled in when the body is first fetched.
    preview = models.CharField(max_length=200, blank=True)
    # The Message-ID at the root of the thread (or of the message itself).
    thread_key = models.CharField(max_length=998, blank=True)
    # Sort keys, kept by the database so that every writer fills them: the
    # sender's name (else address) and the subject without one "Re:",
    # "Fw:" or "Fwd:", lower case (ASCII only on SQLite), cut short enough
    # for any index.
    sort_sender = models.GeneratedField(
        expression=Lower(Coalesce(NullIf("from_name", Value("")), "from_address")),
        output_field=models.CharField(max_length=255),
        db_persist=True,
    )
    sort_subject = models.GeneratedField(
        expression=Lower(
            Substr(
                Trim(
                    Case(
                        When(_starts("re:"), then=Substr("subject", 4)),
                        When(_starts("fw:"), then=Substr("subject", 4)),
                        When(_starts("fwd:"), then=Substr("subject", 5)),
                        default=F("subject"),
                        output_field=models.TextField(),
                    )
                ),
                1,
                200,
            )
        ),
        output_field=models.CharField(max_length=200),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["folder", "uid"], name="message_unique_uid")
        ]
        indexes = [
            models.Index(
                "folder", models.F("date").desc(), models.F("uid").desc(),
                name="message_list",
            ),
            models.Index(fields=["folder", "seen"], name="message_unseen"),
            models.Index(fields=["folder", "thread_key"], name="message_thread"),
            # The conversation list groups a folder by thread (newest date,
            # unread count) from this index alone.
            models.Index(
                fields=["folder", "thread_key", "date", "uid", "seen"],
                name="message_conversation",
            ),
            # One per sort order of the list (webmail.mail.reading.SORTS).
            models.Index(
                fields=["folder", "sort_sender", "uid"], name="message_by_sender"
            ),
            models.Index(
                fields=["folder", "sort_subject", "uid"], name="message_by_subject"
            ),
            models.Index(fields=["folder", "size", "uid"], name="message_by_size"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.uid}: {self.subject}"


class OperationState(models.TextChoices):
    PENDING = "pending", "Waiting"
    DONE = "done", "Done"
    # Done, but for messages another client removed first (payload "missing").
    PARTIAL = "partial", "Done in part"
    FAILED = "failed", "Failed"


class OperationKind(models.TextChoices):
    FLAGS = "flags", "Change flags"
    MOVE = "move", "Move"
    COPY = "copy", "Copy"
    EXPUNGE = "expunge", "Delete for good"
    # Folder operations: folder_name is the folder's server name, uids is
    # empty; payload holds the rest (see webmail.mail.folders).
    CREATE_FOLDER = "mkfolder", "Create a folder"
    RENAME_FOLDER = "renfolder", "Rename a folder"
    DELETE_FOLDER = "rmfolder", "Delete a folder"
    SUBSCRIBE = "subscribe", "Change a subscription"


FOLDER_KINDS = (
    OperationKind.CREATE_FOLDER,
    OperationKind.RENAME_FOLDER,
    OperationKind.DELETE_FOLDER,
    OperationKind.SUBSCRIBE,
)


class PendingOperation(models.Model):
    """A user's action waiting to be applied on the server (the outbox).

    Rows are applied in id order per account. uids name messages of
    ``folder`` under ``uidvalidity``: if the folder was rebuilt on the
    server since, the operation fails rather than touch other messages.
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="pending_operations"
    )
    kind = models.CharField(max_length=10, choices=OperationKind.choices)
    folder = models.ForeignKey(
        Folder, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept so that the operation can still be reported if the row goes.
    folder_name = models.CharField(max_length=1000)
    uidvalidity = models.BigIntegerField()
    uids = models.JSONField(default=list)
    # flags: {"add": [...], "remove": [...], "modseq": n};
    # move/copy: {"target": name, "target_id": id}; the worker adds its
    # progress ("copying" before a COPY, "sent", "copied") and, when done
    # in part, "missing": the UIDs another client removed first.
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=OperationState.choices, default=OperationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(db_default=Now())
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Seen by the user (the error was shown and dismissed).
    dismissed = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "state", "id"], name="operation_queue"),
            models.Index(fields=["state", "next_attempt_at"], name="operation_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {len(self.uids)} in {self.folder_name} ({self.state})"


class AccountState(models.Model):
    """How the account's server link is doing, for the user and the admin."""

    account = models.OneToOneField(
        MailAccount, on_delete=models.CASCADE, related_name="sync_state"
    )
    # The last error that stopped all work on the account (wrong password,
    # unreachable server, untrusted certificate); blank when it works.
    error = models.TextField(blank=True)
    # The ImapError class behind it ("AuthenticationFailed"), so the page can
    # say it in the reader's language; blank for other errors.
    error_kind = models.CharField(max_length=40, blank=True, default="")
    error_at = models.DateTimeField(null=True, blank=True)
    folders_synced_at = models.DateTimeField(null=True, blank=True)
    capabilities = models.JSONField(default=list)
    # Where the user's own folders live (NAMESPACE): "INBOX." on Courier.
    folder_prefix = models.CharField(max_length=100, blank=True, default="")
    # Storage against the server's quota and the worker's open connections,
    # as of usage_at (the last folder-list sync), for the operator pages.
    quota_used_kb = models.BigIntegerField(null=True, blank=True)
    quota_limit_kb = models.BigIntegerField(null=True, blank=True)
    open_connections = models.PositiveIntegerField(default=0)
    usage_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.account}: {self.error or 'ok'}"


def lock_folder(folder_id: int) -> tuple[str, int | None] | None:
    """Lock a folder's row until the end of the current transaction.

    Every transaction that changes a folder's messages starts here. It is
    an UPDATE, not SELECT FOR UPDATE: SQLite ignores the latter, and there
    a transaction that reads first and writes later fails at once ("database
    is locked") when another process wrote in between, while one whose
    first statement writes waits for its turn.

    It writes a plain column, not the id: on SQLite, writing a key that
    other tables refer to (even to its own value) makes it look up every
    message of the folder, about 10 ms at 100,000 messages.

    Returns the folder's name and UIDVALIDITY as they are now (a caller's
    copy may predate the last sync), or None if there is no such folder.
    RETURNING (SQLite 3.35, PostgreSQL) saves a second query, which is why
    this one statement is written out.
    """
    return _lock(
        "UPDATE webmail_folder SET total = total WHERE id = %s"
        " RETURNING name, uidvalidity",
        [folder_id],
    )


def lock_user_folder(
    user_id: int, account_id: int, folder_id: int
) -> tuple[str, int | None] | None:
    """lock_folder, for a folder of this user's mail account only.

    The lock is then also the rule of accounts.access (only the owner; None,
    for a 404, for another user's ids): a view changing one message needs no
    query of its own to load the folder and account first.
    """
    return _lock(
        "UPDATE webmail_folder SET total = total WHERE id = %s AND account_id = %s"
        " AND account_id IN (SELECT id FROM accounts_mailaccount WHERE user_id = %s)"
        " RETURNING name, uidvalidity",
        [folder_id, account_id, user_id],
    )


def _lock(statement: str, params: list[int]) -> tuple[str, int | None] | None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def lock_account(account_id: int) -> None:
    """Lock the account's sync state (see lock_folder) for this transaction."""
    AccountState.objects.filter(account_id=account_id).update(
        account_id=F("account_id")
    )


class SendState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutgoingMessage(models.Model):
    """A message the user sent: kept until the SMTP server has taken it.

    Recorded by the page (webmail/mail/compose.py) with the message's bytes
    already built, so that every attempt sends the same message; the
    account's worker submits it (webmail/engine/compose.py). The state only
    moves forward, pending -> sending -> sent or failed, each step a
    conditional update: a redelivered task finds the row taken, and a
    message left in "sending" by a killed worker is never sent again (the
    sweep fails it, saying that it may have gone).
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="outgoing_messages"
    )
    state = models.CharField(
        max_length=10, choices=SendState.choices, default=SendState.PENDING
    )
    raw = models.BinaryField()
    message_id = models.CharField(max_length=998)
    subject = models.TextField(blank=True)
    envelope_from = models.CharField(max_length=255)
    recipients = models.JSONField(default=list)
    # The message this one answers or forwards, flagged once it is sent.
    original_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_uid = models.BigIntegerField(null=True, blank=True)
    original_flag = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why the last attempt failed: a kind the page words for the user
    # ("recipient", "login", "unreachable", "tls", "refused", "unknown"),
    # the SMTP server's own words, and the recipient it refused.
    error_kind = models.CharField(max_length=20, blank=True)
    error_detail = models.TextField(blank=True)
    refused_recipient = models.CharField(max_length=255, blank=True)
    # The copy in the Sent folder: "" not yet, "saved", or why it was not.
    sent_copy = models.CharField(max_length=255, blank=True)
    next_attempt_at = models.DateTimeField(db_default=Now())
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outgoing_due"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"
