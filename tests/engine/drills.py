"""Drills: a burst of user actions while a part of the system fails.

A mailbox is seeded over IMAP with messages that each carry a Message-ID of
their own, in a few folders. A burst of actions then goes through the page
side's verbs (webmail.mail.changes: star and unstar, mark read and unread,
move between folders, delete to Trash), paced over some seconds, while a
fault runs beside it: the worker killed and restarted, Redis stopped and
started, Dovecot frozen (SIGSTOP) and thawed, or Dovecot restarted. Once
the fault has ended and the outbox is empty, the server is read with a
plain IMAP connection of its own and compared, message by message (by
Message-ID), with what the user did:

- lost: a message missing from the server, or one of its folder, read or
  star not as the user last left it (each counts once);
- doubled: a copy of a message beyond the first (a move or a copy applied
  twice), or a message on the server that was never seeded;
- seconds until consistent: from the end of the fault (or of the burst,
  if later) until the server matched what the user did;
- held: the operations still in the outbox at that moment (what the fault
  held back);
- errors: actions that failed as the user made them (an error page);
- burst s: from the start of the burst to its last action (longer than
  planned when the fault slows the actions down).

tests/engine/test_drills.py runs small drills against the suite's servers;
bench/drills.py runs larger ones on servers of its own and prints the
figures.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from accounts.models import MailAccount, Security, User
from devtools.celery_worker import CeleryWorker
from devtools.dovecot import DovecotServer
from devtools.redis_server import RedisServer
from webmail.engine import backfill, connections, folderlist, sync
from webmail.mail import changes, watching
from webmail.models import Folder, Message, OperationState, PendingOperation

# Messages move between these; deleting moves them to Trash, and from Trash
# they can be moved back to INBOX.
FOLDERS = ("INBOX", "Archive", "Projects")
TRASH = "Trash"
SEEN = "\\Seen"
FLAGGED = "\\Flagged"
MESSAGE_ID = re.compile(rb"Message-ID:\s*<([^>\s]+)>", re.IGNORECASE)
HEADER_ITEM = b"BODY[HEADER.FIELDS (MESSAGE-ID)]"
# How often the outbox and then the server are looked at while settling.
SETTLE_INTERVAL = 0.2


@dataclass
class Expected:
    """What the user last made of one message."""

    folder: str
    seen: bool
    flagged: bool


@dataclass(frozen=True)
class Copy:
    """One copy of a message found on the server."""

    folder: str
    seen: bool
    flagged: bool


@dataclass
class Outcome:
    """The figures of one drill."""

    name: str
    actions: int
    lost: int
    doubled: int
    seconds: float | None  # None: not consistent within the time allowed
    burst: float = 0.0  # seconds from the start of the burst to its last action
    held: int = 0  # operations in the outbox when the fault (or burst) ended
    errors: int = 0  # actions that failed with an error page
    pending: int = 0  # operations still waiting when the drill gave up
    failed: int = 0  # operations the server refused
    exits: int = 0  # times the worker exited unasked (and was restarted)

    @property
    def clean(self) -> bool:
        failed = self.errors or self.lost or self.doubled
        return not failed and self.seconds is not None


# The mailbox -----------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    """Where and as whom the plain IMAP connection of the drill logs in."""

    server: DovecotServer
    username: str
    password: str

    @contextlib.contextmanager
    def connect(self) -> Iterator[IMAPClient]:
        context = ssl.create_default_context(cafile=str(self.server.ca_cert_path))
        client = IMAPClient(
            self.server.host,
            port=self.server.imaps_port,
            ssl=True,
            ssl_context=context,
            timeout=10,
        )
        try:
            client.login(self.username, self.password)
            yield client
        finally:
            with contextlib.suppress(OSError, IMAPClientError):
                client.logout()


def _message(number: int, message_id: str) -> bytes:
    return (
        f"From: Carol <carol@example.org>\r\nTo: drills@example.org\r\n"
        f"Subject: Drill message {number}\r\nMessage-ID: <{message_id}>\r\n"
        f"Date: Sat, 28 Nov 2026 10:00:00 +0900\r\n\r\nMessage {number}.\r\n"
    ).encode()


def seed(
    login: Login, sizes: dict[str, int], rng: random.Random
) -> dict[str, Expected]:
    """APPEND messages to the folders (count per folder); return them by Message-ID.

    About half are read and one in six starred, as a real mailbox has them.
    """
    model: dict[str, Expected] = {}
    with login.connect() as client:
        existing = {name for _, _, name in client.list_folders()}
        for folder in sizes:
            if folder not in existing:
                client.create_folder(folder)
        number = 0
        for folder, count in sizes.items():
            for _ in range(count):
                number += 1
                message_id = f"drill-{uuid.uuid4().hex}@example.org"
                expected = Expected(folder, rng.random() < 0.5, rng.random() < 1 / 6)
                flags = [SEEN] * expected.seen + [FLAGGED] * expected.flagged
                client.append(folder, _message(number, message_id), flags=flags)
                model[message_id] = expected
    return model


def new_account(login: Login) -> MailAccount:
    """A webmail user with a mail account on the drill's mailbox."""
    user = User.objects.create_user(
        username=f"drill{uuid.uuid4().hex[:10]}", password=uuid.uuid4().hex
    )
    account = MailAccount(
        user=user,
        email=login.username,
        imap_host=login.server.host,
        imap_port=login.server.imaps_port,
        imap_security=Security.SSL,
        imap_username=login.username,
    )
    account.imap_password = login.password
    account.save()
    return account


def load_cache(account: MailAccount) -> None:
    """Sync the folder list and every folder whole, in this process."""
    try:
        folderlist.sync_folder_list(account.id)
        for folder in Folder.objects.filter(account=account, selectable=True):
            sync.sync_folder(account.id, folder.id)
            folder.refresh_from_db()
            while not folder.complete:
                backfill.backfill_folder(account.id, folder.id)
                folder.refresh_from_db()
    finally:
        connections.close_pool()


# Reading the server and comparing -----------------------------------------------


def read_server(login: Login) -> dict[str, list[Copy]]:
    """Every message on the server by Message-ID: its folder and flags."""
    found: dict[str, list[Copy]] = {}
    with login.connect() as client:
        for flags, _, name in client.list_folders():
            if b"\\Noselect" in flags or b"\\NonExistent" in flags:
                continue
            client.select_folder(name, readonly=True)
            uids = client.search(["ALL"])
            if not uids:
                continue
            data = client.fetch(
                uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
            )
            for item in data.values():
                match = MESSAGE_ID.search(item.get(HEADER_ITEM) or b"")
                key = match[1].decode() if match else ""
                have = item[b"FLAGS"]
                copy = Copy(name, SEEN.encode() in have, FLAGGED.encode() in have)
                found.setdefault(key, []).append(copy)
    return found


def compare(
    model: dict[str, Expected], server: dict[str, list[Copy]]
) -> tuple[int, int]:
    """Return (lost, doubled): the server against what the user did."""
    lost = doubled = 0
    for message_id, want in model.items():
        copies = server.get(message_id, [])
        if not copies:
            lost += 1
            continue
        doubled += len(copies) - 1
        copy = next((c for c in copies if c.folder == want.folder), copies[0])
        lost += (copy.folder != want.folder) + (copy.seen != want.seen)
        lost += copy.flagged != want.flagged
    doubled += sum(len(c) for key, c in server.items() if key not in model)
    return lost, doubled


# The user's burst ---------------------------------------------------------------


@dataclass
class Burst:
    """Actions as a user makes them, on messages the cache lists."""

    account: MailAccount
    model: dict[str, Expected]
    rng: random.Random
    done: int = 0
    errors: int = 0
    last_at: float = 0.0

    def __post_init__(self) -> None:
        rows = Folder.objects.filter(account=self.account)
        self.folders = {f.name: f for f in rows}
        self.names = {f.id: f.name for f in rows}

    def _candidates(self) -> list[tuple[str, Folder, int]]:
        """Messages whose row is in the folder the user last put them in.

        A message just moved has no row until its new folder is synced,
        and a user cannot act on what the list does not show.
        """
        rows = Message.objects.filter(
            folder__account=self.account, message_id__startswith="<drill-"
        ).values_list("message_id", "folder_id", "uid")
        found = []
        for raw, folder_id, uid in rows:
            message_id = raw.strip("<>")
            want = self.model.get(message_id)
            name = self.names.get(folder_id)
            if want is not None and want.folder == name:
                found.append((message_id, self.folders[name], uid))
        return found

    def act(self) -> bool:
        """Make one action; False if the list shows nothing to act on.

        An action the database refuses (the user would get an error page)
        is counted in errors, and the user's state is left as it was.
        """
        try:
            return self._act()
        except DatabaseError:
            self.errors += 1
            self.done += 1
            self.last_at = time.monotonic()
            return True

    def _act(self) -> bool:
        candidates = self._candidates()
        if not candidates:
            return False
        message_id, folder, uid = self.rng.choice(candidates)
        want = self.model[message_id]
        kind = self.rng.choice(("star", "read", "move", "delete"))
        if folder.name == TRASH:
            kind = "restore" if kind in ("move", "delete") else kind
        if kind == "star":
            flagged = not want.flagged
            flag = {"add": [FLAGGED]} if flagged else {"remove": [FLAGGED]}
            user = self.account.user
            changes.flag_message(user, self.account.id, folder.id, uid, **flag)
            want.flagged = flagged
        elif kind == "read":
            changes.mark_seen(self.account, folder, [uid], seen=not want.seen)
            want.seen = not want.seen
        elif kind == "delete":
            if not changes.delete_messages(self.account, folder, [uid]):
                return True  # a sync took the row away meanwhile: no action
            want.folder = TRASH
        else:
            others = [n for n in FOLDERS if n != folder.name]
            target = "INBOX" if kind == "restore" else self.rng.choice(others)
            moved = changes.move_messages(
                self.account, folder, [uid], self.folders[target]
            )
            if not moved:
                return True
            want.folder = target
        self.done += 1
        self.last_at = time.monotonic()
        return True

    def run(self, count: int, seconds: float) -> None:
        """Make count actions, spread evenly over about seconds."""
        started = time.monotonic()
        step = seconds / max(count, 1)
        give_up = started + seconds + 60
        while self.done < count and time.monotonic() < give_up:
            wait = started + self.done * step - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if not self.act():
                time.sleep(0.1)  # everything is on its way to another folder


# Faults -------------------------------------------------------------------------


@dataclass
class Fault:
    """Steps run at given seconds into the burst, and what puts things right."""

    name: str
    steps: list[tuple[float, Callable[[], object]]]
    recover: Callable[[], object]
    ended_at: float = 0.0
    error: BaseException | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def length(self) -> float:
        """Seconds into the burst of the last step."""
        return max((at for at, _ in self.steps), default=0.0)

    def run(self, started: float) -> None:
        try:
            for at, step in self.steps:
                if self.cancelled.wait(max(0.0, started + at - time.monotonic())):
                    return
                step()
        except BaseException as exc:
            self.error = exc
        finally:
            self.ended_at = time.monotonic()


class Keeper:
    """Restarts the worker when it exits, as docker compose's restart policy does.

    Production runs the worker under one (docker-compose.yml: restart:
    unless-stopped); a worker that exits on its own is counted in exits.
    """

    def __init__(self, worker: CeleryWorker) -> None:
        self.worker = worker
        self.exits = 0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def kill_and_start(self) -> None:
        """SIGKILL the worker and start a new one (a planned death)."""
        with self.lock:
            self.worker.kill()
            self.worker.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            with self.lock:
                if not self.worker.alive():
                    self.exits += 1
                    self.worker.start()

    def __enter__(self) -> Keeper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        with self.lock:
            if not self.worker.alive():
                self.worker.start()


def worker_killed(keeper: Keeper, kills: int, seconds: float) -> Fault:
    """SIGKILL the worker kills times during the burst, restarting it each time."""
    step = keeper.kill_and_start
    steps = [(seconds * (n + 1) / (kills + 1), step) for n in range(kills)]
    return Fault(f"worker killed x{kills}", steps, lambda: None)


def redis_stopped(redis: RedisServer, at: float, down: float) -> Fault:
    """Stop Redis at seconds into the burst; start it again down seconds later."""
    steps = [(at, redis.stop), (at + down, redis.start)]
    return Fault(f"Redis down {down:g} s", steps, redis.start)


def _signal_dovecot(dovecot: DovecotServer, number: int) -> None:
    process = dovecot.process
    if process is not None:
        # Dovecot runs in a process group of its own: the master and the
        # IMAP processes holding the worker's connections.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, number)


def dovecot_frozen(dovecot: DovecotServer, at: float, frozen: float) -> Fault:
    """SIGSTOP every Dovecot process at seconds into the burst; SIGCONT later."""
    freeze = partial(_signal_dovecot, dovecot, signal.SIGSTOP)
    thaw = partial(_signal_dovecot, dovecot, signal.SIGCONT)
    steps = [(at, freeze), (at + frozen, thaw)]
    return Fault(f"Dovecot frozen {frozen:g} s", steps, thaw)


def dovecot_restarted(dovecot: DovecotServer, at: float) -> Fault:
    """Stop Dovecot (its connections die) and start it again, at seconds in."""

    def recover() -> None:
        _signal_dovecot(dovecot, signal.SIGCONT)
        dovecot.start()

    return Fault("Dovecot restarted", [(at, dovecot.restart)], recover)


# One drill ----------------------------------------------------------------------


def _operations(account: MailAccount, state: str) -> int:
    return PendingOperation.objects.filter(account=account, state=state).count()


def settle(
    login: Login,
    account: MailAccount,
    model: dict[str, Expected],
    since: float,
    timeout: float,
) -> tuple[int, int, float | None]:
    """Wait until the outbox is empty and the server matches; (lost, doubled, s).

    Once nothing is pending, a server that still differs stays so: after a
    few looks the differences are returned, with no time.
    """
    deadline = since + timeout
    mismatches = 0
    lost = doubled = -1
    while True:
        if _operations(account, OperationState.PENDING) == 0:
            with contextlib.suppress(OSError, IMAPClientError):
                lost, doubled = compare(model, read_server(login))
                if lost == doubled == 0:
                    return 0, 0, time.monotonic() - since
                mismatches += 1
            if mismatches >= 3:
                return lost, doubled, None
        if time.monotonic() > deadline:
            break
        time.sleep(SETTLE_INTERVAL)
    with contextlib.suppress(OSError, IMAPClientError):
        lost, doubled = compare(model, read_server(login))
    return lost, doubled, None


def run_drill(
    login: Login,
    account: MailAccount,
    model: dict[str, Expected],
    keeper: Keeper,
    fault: Fault,
    *,
    actions: int,
    seconds: float,
    timeout: float,
    rng: random.Random,
) -> Outcome:
    """Run the burst with the fault beside it, then settle and compare.

    The account's cache must be loaded (load_cache). The keeper restarts
    the worker if it exits meanwhile. The fault's recovery runs whatever
    happens, so no server is left stopped or frozen.
    """
    with keeper:
        outcome = _run(login, account, model, fault, actions, seconds, timeout, rng)
    outcome.exits = keeper.exits
    return outcome


def _run(
    login: Login,
    account: MailAccount,
    model: dict[str, Expected],
    fault: Fault,
    actions: int,
    seconds: float,
    timeout: float,
    rng: random.Random,
) -> Outcome:
    # The user has the webmail open: the worker watches the account.
    inbox = Folder.objects.get(account=account, name="INBOX")
    watching.keep_watching(account.id, inbox.id)
    burst = Burst(account, model, rng)
    started = time.monotonic()
    beside = threading.Thread(target=fault.run, args=(started,), daemon=True)
    beside.start()
    try:
        burst.run(actions, seconds)
        beside.join(max(0.0, started + fault.length + 120 - time.monotonic()))
    finally:
        if beside.is_alive() or fault.error is not None:
            fault.cancelled.set()
            beside.join(120)
            fault.recover()
    if fault.error is not None:
        raise RuntimeError(f"The fault {fault.name!r} failed") from fault.error
    since = max(fault.ended_at, burst.last_at)
    held = _operations(account, OperationState.PENDING)
    lost, doubled, took = settle(login, account, model, since, timeout)
    return Outcome(
        fault.name,
        burst.done,
        lost,
        doubled,
        took,
        burst=burst.last_at - started,
        held=held,
        errors=burst.errors,
        pending=_operations(account, OperationState.PENDING),
        failed=_operations(account, OperationState.FAILED),
    )


def table(outcomes: list[Outcome]) -> str:
    """The figures, one drill a line."""
    head = (
        "drill",
        "actions",
        "burst s",
        "errors",
        "held",
        "lost",
        "doubled",
        "s until consistent",
    )
    rows = [head]
    notes = []
    for o in outcomes:
        took = f"{o.seconds:.1f}" if o.seconds is not None else "never"
        figures = (o.errors, o.held, o.lost, o.doubled)
        burst = f"{o.burst:.1f}"
        rows.append((o.name, str(o.actions), burst, *(str(f) for f in figures), took))
        said = []
        if o.pending or o.failed:
            said.append(f"{o.pending} still pending, {o.failed} refused")
        if o.exits:
            said.append(f"the worker exited {o.exits}x and was restarted")
        notes.append("; ".join(said))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        if n and notes[n - 1]:
            cells.append(notes[n - 1])
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe(outcome: Outcome) -> dict[str, Any]:
    """The outcome as plain values (for a failing test's message)."""
    return dict(vars(outcome))
