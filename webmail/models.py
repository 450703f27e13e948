"""The synchronized cache of mailbox metadata, and the outbox of user actions.

Folder and Message mirror what the IMAP server holds (never bodies); views
read them and nothing else. PendingOperation is the durable outbox: a user's
action is written here in the same transaction that updates the cache, and
the account's worker applies it on the server (webmail/engine/outbox.py).
CollectedAddress and Contact are the people the user writes to: the
ones the mail shows, and the user's own address book.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import connection, models
from django.db.models import Case, F, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Lower, Now, NullIf, Substr, Trim
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

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
    # The previews pass (webmail.engine.previews) has read every cached
    # message with a UID from previews_from_uid up to, not including,
    # previews_to_uid. None: not begun; previews_from_uid 1: done below.
    previews_from_uid = models.BigIntegerField(null=True, blank=True)
    previews_to_uid = models.BigIntegerField(null=True, blank=True)
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
    # The start of the text: from the start of its first text part (the
    # previews pass), or when the body is first fetched; never replaced.
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
            # The storage page's "largest attachments": the biggest messages
            # with attachments of each folder, from this index alone.
            models.Index(
                fields=["folder", "has_attachments", "size"],
                name="message_attachments_by_size",
            ),
            # A retention rule's preview counts and sums a folder's messages
            # older than a date from this index alone (bench/retention.py).
            models.Index(fields=["folder", "date", "size"], name="message_age"),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.uid}: {self.subject}"


class OperationState(models.TextChoices):
    PENDING = "pending", "Waiting"
    DONE = "done", "Done"
    # Done, but for messages another client removed first (payload "missing").
    PARTIAL = "partial", "Done in part"
    FAILED = "failed", "Failed"
    # Undone before the worker started on it: never sent to the server.
    CANCELLED = "cancelled", "Cancelled"


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
    # progress ("copying" before a COPY, "sent", "copied"), the new UIDs
    # in the target ("moved": {old: new}, from COPYUID) and, when done in
    # part, "missing": the UIDs another client removed first. An undo's
    # reverse move has "undo_of" (the move it reverses), no uids until the
    # worker finds them in the target, and "message_ids" to find them by
    # where the server gave no COPYUID.
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=10, choices=OperationState.choices, default=OperationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The ImapError class of a refusal ("OverQuota"), so that the page can
    # say what it means and what to do; blank for other errors.
    error_kind = models.CharField(max_length=40, blank=True, default="")
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


class UndoableAction(models.Model):
    """Messages a user moved (archived, reported, deleted to Trash), undoable.

    moves: one entry per PendingOperation of the action, {"op": id,
    "source": folder id, "target": folder id, "rows": the cached rows as
    they were (webmail.mail.snapshots)}, so that an undo puts them back in
    the cache at once. Undone once at most: the state only goes from open
    to undone, under the row's lock.
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="undoable_actions"
    )
    # "move" or "delete": how the notice words it.
    verb = models.CharField(max_length=10)
    count = models.PositiveIntegerField(default=0)
    target = models.ForeignKey(
        Folder, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    moves = models.JSONField(default=list)
    undone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.verb} {self.count} ({'undone' if self.undone else 'open'})"


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
    # The largest message the SMTP server takes (its EHLO SIZE), learned by
    # the worker when it sends; None until then or when it names none.
    smtp_max_size = models.BigIntegerField(null=True, blank=True)

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


def move_counts(source: int, target: int | None, total: int, unseen: int) -> None:
    """Take total messages (unseen of them unread) off a folder's counts and
    add them to target's (None: they are gone for good).

    A count never goes below 0 (a sync may have counted the move already).
    Written out, as lock_folder: every move and undo runs it while the user
    waits, and the ORM's two UPDATEs cost more to build than to run.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE webmail_folder SET"
            " total = CASE WHEN total > %s THEN total - %s ELSE 0 END,"
            " unseen = CASE WHEN unseen > %s THEN unseen - %s ELSE 0 END"
            " WHERE id = %s",
            [total, total, unseen, unseen, source],
        )
        if target is not None:
            cursor.execute(
                "UPDATE webmail_folder SET total = total + %s, unseen = unseen + %s"
                " WHERE id = %s",
                [total, unseen, target],
            )


def lock_account(account_id: int) -> None:
    """Lock the account's sync state (see lock_folder) for this transaction."""
    AccountState.objects.filter(account_id=account_id).update(
        account_id=F("account_id")
    )


def among(column: str, values: Iterable[int]) -> RawSQL:
    """Return "column IN (values)" for filter(), for many integers at once.

    Django prepares each value of an __in list in Python, about a
    millisecond per 500; a move of 5,000 messages names them several times
    while the user waits. The values are made ints here, so they go to the
    database as parameters as they are. column is the model's table and
    column as written in SQL ("webmail_message.uid").
    """
    numbers = [int(value) for value in values]
    if not numbers:
        return RawSQL("1 = 0", [], output_field=models.BooleanField())
    marks = ", ".join(["%s"] * len(numbers))
    # Only placeholders and the caller's column name go into the SQL.
    condition = f"{column} IN ({marks})"
    return RawSQL(condition, numbers, output_field=models.BooleanField())  # noqa: S611


class SendState(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Undone (or a scheduled message called off) before the worker took it.
    CANCELLED = "cancelled", "Cancelled"


# OutgoingMessage.sent_copy when the server refused the copy for a full
# mailbox: the page says so and offers the storage page.
SENT_COPY_FULL = "full"


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
    # Sections of the original whose files a forward keeps: the worker
    # fetches them from the server, so the browser never carries them.
    forward_parts = models.JSONField(default=list, blank=True)
    # Files of the draft it was written in that the form kept (Draft.files'
    # keys): the worker fetches them from the draft's copy in Drafts.
    draft_files = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Why the last attempt failed: a kind the page words for the user
    # ("recipient", "login", "unreachable", "tls", "refused", "unknown"),
    # the SMTP server's own words, and the recipient it refused.
    error_kind = models.CharField(max_length=20, blank=True)
    error_detail = models.TextField(blank=True)
    refused_recipient = models.CharField(max_length=255, blank=True)
    # The copy in the Sent folder: "" not yet, "saved", SENT_COPY_FULL, or
    # why it was not.
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


class Upload(models.Model):
    """A file attached to a message being written; its bytes are on disk.

    The browser sends it in chunks (webmail/mail/uploads.py) to a file named
    stored_name in settings.COMPOSE_UPLOAD_DIR; received counts the bytes
    that arrived, size the ones announced. Sending ties it to its
    OutgoingMessage; the worker streams it into the message and removes it
    once sent. Rows (and files) nobody sent are removed after
    COMPOSE_UPLOAD_MAX_AGE hours (webmail/shared/uploads.py).
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="uploads"
    )
    outgoing = models.ForeignKey(
        OutgoingMessage,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="uploads",
    )
    # The form the file belongs to, so the limit counts that message's files.
    form_key = models.CharField(max_length=64, blank=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField()
    received = models.BigIntegerField(default=0)
    stored_name = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["updated_at"], name="upload_age")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.received}/{self.size})"

    @property
    def complete(self) -> bool:
        """Whether every announced byte arrived."""
        return self.received == self.size


class RetentionAction(models.TextChoices):
    # Inside Trash and Junk for good; elsewhere to Trash.
    DELETE = "delete", "Delete"
    # Into the Archive folder (or its folder for the message's year).
    ARCHIVE = "archive", "Archive"


class RetentionRule(models.Model):
    """A user's standing order for one folder: messages older than days go.

    Applied by Celery beat (webmail/engine/retention.py) through the same
    recorded changes as the user's own bulk actions. folder is None once
    the folder is gone; folder_name still names it for the page.
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="retention_rules"
    )
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    folder_name = models.CharField(max_length=1000)
    action = models.CharField(max_length=10, choices=RetentionAction.choices)
    days = models.PositiveIntegerField()
    # Archive into Archive/<year of the message> rather than Archive itself.
    by_year = models.BooleanField(default=False)
    # When beat may next apply it; None: at its next check.
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["next_run_at"], name="retention_due")]

    def __str__(self) -> str:
        return f"{self.action} after {self.days} days in {self.folder_name}"


class RetentionOutcome(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    # The run's limit was reached; another run follows at once.
    MORE = "more", "More to do"
    FOLDER_GONE = "gone", "Folder gone"
    FAILED = "failed", "Failed"


class RetentionRun(models.Model):
    """One application of a rule: what it took out of the folder."""

    rule = models.ForeignKey(
        RetentionRule, on_delete=models.CASCADE, related_name="runs"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    messages = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    outcome = models.CharField(
        max_length=10,
        choices=RetentionOutcome.choices,
        default=RetentionOutcome.RUNNING,
    )
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.messages} messages ({self.outcome})"


class Draft(models.Model):
    """A message being written: its latest text, kept until it is sent or dropped.

    The compose page saves here (webmail/mail/drafts.py), each save one
    conditional update that raises ``version``; the account's worker then
    APPENDs the latest version to the Drafts folder and removes the copy
    before it (webmail/engine/drafts.py), and records that version as
    ``saved_version``. Saves that come while it works are stored together
    in its next APPEND. ``token`` goes into every copy's X-Webmail-Draft
    header, so that the worker finds each copy it made, even one a killed
    worker left behind. A draft sent as an OutgoingMessage (``sent_with``)
    stays until that message is sent; then it is ``discarded``, and the
    worker removes its copies, then the row.
    """

    account = models.ForeignKey(
        MailAccount, on_delete=models.CASCADE, related_name="drafts"
    )
    token = models.CharField(max_length=40, unique=True)
    # What the form holds, as typed: to, cc, bcc, subject, body, identity,
    # in_reply_to, references, original; "files": the keys of its files
    # ("u<upload id>", or a key of ``files`` below), space-separated.
    fields = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    saved_version = models.PositiveIntegerField(default=0)
    # The copy on the server (None: none yet, or opened from it in the cache).
    folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uid = models.BigIntegerField(null=True, blank=True)
    # The files in that copy, in order: {"key", "section", "filename",
    # "content_type", "size"} each (webmail/engine/draftfiles.py).
    files = models.JSONField(default=list, blank=True)
    # The message it was sent as: once that is sent, the draft goes.
    sent_with = models.ForeignKey(
        "OutgoingMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    discarded = models.BooleanField(default=False)
    # Why the last version could not be stored ("quota", "folder", "server").
    error_kind = models.CharField(max_length=20, blank=True)
    error_detail = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_default=Now())
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["account", "folder", "uid"], name="draft_copy"),
            models.Index(fields=["next_attempt_at"], name="draft_due"),
        ]

    def __str__(self) -> str:
        return f"{self.fields.get('subject', '')} (v{self.version})"


class CollectedAddress(models.Model):
    """Someone the user wrote to or heard from, for address autocomplete.

    The worker keeps these (webmail/engine/addresses.py): from the mail a
    sync brought in and from what the user sent. ``rank`` weighs how often
    and how recently (webmail/shared/addresses.py); ``search`` holds the
    address and the words of the name, folded, each after a space.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    address = models.CharField(max_length=255)
    # The address folded, one row per address and user.
    key = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    count = models.PositiveIntegerField(default=0)
    last_used = models.DateTimeField()
    rank = models.FloatField(default=0.0)
    search = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="collected_once"),
        ]
        indexes = [
            models.Index(F("user"), F("rank").desc(), name="collected_rank"),
        ]

    def __str__(self) -> str:
        return self.address


class AddressKey(models.Model):
    """The start (1 to 3 characters) of a word of a collected address, with its rank.

    Autocomplete finds the best-ranked addresses a user's typing starts
    a word of in this table's index alone, however few match: scanning
    every collected address for a rare prefix took longer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    collected = models.ForeignKey(
        CollectedAddress, on_delete=models.CASCADE, related_name="keys"
    )
    key = models.CharField(max_length=3)
    rank = models.FloatField()

    class Meta:
        indexes = [
            models.Index(
                F("user"), F("key"), F("rank").desc(), name="address_key_rank"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class AddressCollection(models.Model):
    """How far the worker has collected addresses from an account's cached mail."""

    account = models.OneToOneField(
        MailAccount, on_delete=models.CASCADE, related_name="+"
    )
    last_message_id = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.account_id}: {self.last_message_id}"


class Contact(models.Model):
    """An entry of the user's address book: a name and an address."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(_("name"), max_length=255, blank=True)
    email = models.EmailField(_("address"))
    search = models.TextField()

    class Meta:
        ordering = ["name", "email", "id"]
        indexes = [models.Index(fields=["user", "name"], name="contact_user")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email
