"""One watched account: its IDLE connection, the folder it shows, and what is due.

See webmail.engine.hub for how watches are kept; a Watch does one step of
its work at a time, in one of the hub's handler threads.
"""

from __future__ import annotations

import contextlib
import logging
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections

from webmail import door
from webmail.engine.connections import HeldSession, with_session
from webmail.engine.folderlist import apply_folder_list, record_usage
from webmail.engine.inboxidle import InboxIdle, pushes_without_notify
from webmail.engine.outbox import record_account_error
from webmail.engine.publish import inbox_id, sync_and_publish, user_id_of
from webmail.engine.sync import flag_news_known
from webmail.imap import (
    FolderMissing,
    ImapError,
    ImapSession,
    ServerUnreachable,
    encode_folder_name,
)
from webmail.imap.types import FolderStatus, IdleEvent, NotificationsLost
from webmail.models import Folder
from webmail.shared import events

logger = logging.getLogger(__name__)

IDLE_RENEW = 25 * 60.0
# A server that refuses connections (or whose name does not resolve) costs
# next to nothing to try again, so a watched account tries every few
# seconds: once it gets in, what waited for the server is pushed at once
# (webmail.engine.connections). One that does not answer holds a handler
# thread each time, and is tried after 2, 4, 8... seconds, at most 60.
RETRY_REFUSED = 2.0


class FolderCheck:
    """Tells from STATUS counts whether a folder changed since last seen."""

    def __init__(self) -> None:
        self.known: dict[str, int] | None = None
        self.next_check = 0.0
        self.last_sync = 0.0

    def moved(self, status: FolderStatus) -> bool:
        """Take in new counts (NOTIFY sends only those that changed)."""
        merged = {**(self.known or {}), **status.counts()}
        changed = self.known is None or merged != self.known
        self.known = merged
        return changed

    @property
    def sees_flags(self) -> bool:
        """Whether the counts show every flag change (HIGHESTMODSEQ)."""
        return self.known is not None and "HIGHESTMODSEQ" in self.known


class Watch:
    """One watched account: its IDLE connection, what it shows, what is due.

    The hub owns a Watch while its connection idles; a handler thread owns
    it while step() runs. Never both.
    """

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        # The watching key's value acted on (0: INBOX), the folder that is
        # IDLEd on, and INBOX as (id, server name) when it is another one.
        self.watched: int | None = None
        self.folder_id: int | None = None
        self.inbox: tuple[int, str] | None = None
        self.notify = False
        self.polling = False
        # IDLE may not push here: the viewed folder is checked by STATUS too.
        self.check_viewed = False
        self._held = HeldSession(account_id)
        # INBOX's own IDLE connection, where the server cannot NOTIFY.
        self.inbox_idle: InboxIdle | None = None
        self.started = 0.0
        self.last_poll = 0.0
        self.checks: dict[int, FolderCheck] = {}
        self.failures = 0
        # When step() must run even if the server says nothing.
        self.wake_at = 0.0
        # IDLE (with NOTIFY) must be set up afresh: news was lost.
        self.restart = False
        # Set when ensure_watching() asks again; a watch that found nobody
        # watching and ended is then kept.
        self.wanted = False
        self.done = False
        self._inbox_id: int | None = None

    # The connections ------------------------------------------------------

    @property
    def session(self) -> ImapSession | None:
        """The IDLE connection on the watched folder, if one is held."""
        return self._held.session

    def _borrow(self) -> ImapSession:
        return self._held.get()

    def idling(self) -> list[ImapSession]:
        """Return the connections in IDLE, for the hub to wait on."""
        held = [
            self._held.session,
            self.inbox_idle.session if self.inbox_idle else None,
        ]
        return [session for session in held if session is not None and session.idling]

    def release(self, error: BaseException | None = None) -> None:
        """Give the connections back to the pool (which closes a broken one)."""
        self._end_inbox_idle(error)
        self._held.release(error)

    # What the hub calls -----------------------------------------------------

    def step(self) -> None:
        """Do what is due; leave the connection in IDLE, or given back."""
        close_old_connections()
        try:
            self.wanted = False
            watched = self._watched()
            if watched is None:
                self.release()
                self.done = True
            elif self.polling:
                self._poll(watched)
            elif (
                self.session is None
                or self.restart
                or watched != self.watched
                or not self.session.idling
            ):
                self._begin(watched)
            else:
                self._attend()
            self.failures = 0
        except ImapError as exc:
            logger.info("Watch of %s: %s", self.account_id, exc)
            with contextlib.suppress(DatabaseError):
                record_account_error(self.account_id, exc)
            self._failed(exc)
        except Exception as exc:
            logger.exception("Watch of account %s failed", self.account_id)
            self._failed(exc)
        finally:
            close_old_connections()

    def _failed(self, exc: BaseException) -> None:
        self.release(exc)
        self.failures += 1
        delay = min(60.0, 2.0**self.failures)
        if isinstance(exc, ServerUnreachable):
            delay = min(delay, RETRY_REFUSED)
        self.wake_at = time.monotonic() + delay

    def _watched(self) -> int | None:
        try:
            return events.watched_folder(self.account_id)
        except Exception:  # Redis away: keep going, it comes back
            logger.warning("Cannot read the watching key", exc_info=True)
            return self.watched

    def _folder_of(self, watched: int) -> int | None:
        """Return the id of the folder to watch (INBOX for 0)."""
        if watched:
            return watched
        # INBOX's id is looked up once, since an INBOX can be neither
        # deleted nor renamed away.
        if self._inbox_id is None:
            self._inbox_id = inbox_id(self.account_id)
            if self._inbox_id is None:
                self._list_folders(self._quiet())
                self._inbox_id = inbox_id(self.account_id)
        return self._inbox_id

    # IDLE -------------------------------------------------------------------

    def _quiet(self) -> ImapSession:
        """Return the connection out of IDLE, ready for commands."""
        session = self._borrow()
        if session.idling:
            self._sort(session.idle_done())
        return session

    def _begin(self, watched: int) -> None:
        """Open the watched folder on the connection, sync it and start IDLE."""
        self.watched = watched
        session = self._quiet()
        if not session.capabilities.has("IDLE"):
            self.polling = True
            self._poll(watched)
            return
        folder_id = self._folder_of(watched)
        folder = Folder.objects.filter(id=folder_id).first() if folder_id else None
        if folder is None and watched:
            # The page's folder is gone (another client deleted or renamed
            # it): INBOX is watched until the page, told, moves there.
            folder_id = self._folder_of(0)
            folder = Folder.objects.filter(id=folder_id).first() if folder_id else None
        if folder is None:
            self._inbox_id = None  # dropped from the cache: look it up again
            self.release()
            self.wake_at = time.monotonic() + 1.0
            return
        inbox_row = (
            Folder.objects.filter(account_id=self.account_id, name__iexact="INBOX")
            .exclude(id=folder.id)
            .values_list("id", "name")
            .first()
        )
        self.inbox = (
            (inbox_row[0], encode_folder_name(inbox_row[1])) if inbox_row else None
        )
        try:
            session.open_folder(folder.name)
        except FolderMissing:
            # Gone from the server: the list drops it and tells the pages,
            # and the next step watches INBOX instead.
            self._list_folders(session)
            if Folder.objects.filter(id=folder.id).exists():
                raise  # still listed (a change of the user's waits): retry later
            self.restart = True
            self.wake_at = 0.0
            return
        self.folder_id = folder.id
        self.notify = session.capabilities.has("NOTIFY")
        # Servers without change tracking are the older kind, some of which
        # accept IDLE but report nothing until the next command (Courier, by
        # default): changes would wait for the folder list's poll. A STATUS
        # every IMAP_INBOX_CHECK seconds costs next to nothing.
        self.check_viewed = not session.capabilities.has("CONDSTORE")
        if self.notify:
            # Set again on every start: it is cheap, and its STATUS answer
            # covers whatever happened while nobody watched.
            names = [inbox_row[1]] if inbox_row else []
            self._sort(list(session.notify_changes(names)))
        if self._list_due():
            self._list_folders(session)
        # What changes between the sync and IDLE is reported as soon as
        # IDLE starts, so nothing slips through.
        sync_and_publish(self.account_id, folder.id, session)
        self.restart = False
        self._idle_start(session)
        if (
            inbox_row
            and not self.notify
            and pushes_without_notify(session.capabilities)
        ):
            self._start_inbox_idle(*inbox_row)
        else:
            self._end_inbox_idle()
        self._attend()

    def _start_inbox_idle(self, folder_id: int, name: str) -> None:
        current = self.inbox_idle
        if current is not None and current.folder_id == folder_id:
            return  # still IDLE on INBOX; attend() restarts it if it broke
        self._end_inbox_idle()
        self.inbox_idle = InboxIdle(self.account_id, folder_id, name)
        self.inbox_idle.start()

    def _end_inbox_idle(self, error: BaseException | None = None) -> None:
        inbox_idle, self.inbox_idle = self.inbox_idle, None
        if inbox_idle is not None:
            inbox_idle.release(error)

    def _idle_start(self, session: ImapSession) -> None:
        session.idle_start()
        self.started = time.monotonic()

    def _attend(self) -> None:
        """Act on the news the connection holds and on what is due; IDLE again."""
        if self.inbox_idle is not None:
            self.inbox_idle.attend(IDLE_RENEW)
        session = self._borrow()
        while True:
            news, lost = self._sort(session.idle_check(0))
            now = time.monotonic()
            listing = self._list_due(now)
            if not (news or lost or listing or now - self.started > IDLE_RENEW):
                break
            more, also_lost = self._sort(session.idle_done())
            if lost or also_lost:
                # Start over: NOTIFY SET again and a sync of both.
                self.checks.clear()
                self.restart = True
                self.wake_at = 0.0
                return
            if listing:
                self._list_folders(session)
                if not Folder.objects.filter(id=self.folder_id or 0).exists():
                    self.restart = True  # the watched folder is gone
                    self.wake_at = 0.0
                    return
            # The folder list's answer may have carried news of the viewed
            # folder, which that command does not report: sync after it too.
            # The webmail's own changes come back as news the cache has.
            news += more
            if listing or news:
                assert self.folder_id is not None
                if listing or not flag_news_known(self.folder_id, news):
                    sync_and_publish(self.account_id, self.folder_id, session)
            self._idle_start(session)
        due = [self.started + IDLE_RENEW, self._list_at()]
        if self.check_viewed and self.folder_id is not None:
            due.append(self._check_if_due(self.folder_id).next_check)
        if self.inbox_idle is not None:
            due.append(self.inbox_idle.started + IDLE_RENEW)
        elif self.inbox is not None and not self.notify:
            check = self._check_if_due(self.inbox[0])
            due.append(check.next_check)
        self.wake_at = min(due)

    def _sort(self, news: list[IdleEvent]) -> tuple[list[IdleEvent], bool]:
        """Act on INBOX counts; return (news of the viewed folder, news lost)."""
        viewed: list[IdleEvent] = []
        lost = False
        inbox = self.inbox
        for event in news:
            if isinstance(event, FolderStatus):
                if inbox is not None and event.folder == inbox[1]:
                    self._folder_news(inbox[0], event)
            elif isinstance(event, NotificationsLost):
                lost = True
            else:
                viewed.append(event)
        return viewed, lost

    # Folder checks ----------------------------------------------------------

    def _poll(self, watched: int) -> None:
        """Check the watched folder and INBOX by STATUS (servers without IDLE)."""
        self.watched = watched
        session = self._quiet()
        folder_id = self._folder_of(watched)
        now = time.monotonic()
        if folder_id is None:
            self.wake_at = now + 1.0
            return
        self._check_if_due(folder_id, session)
        inbox = inbox_id(self.account_id)
        if inbox is not None and inbox != folder_id:
            self._check_if_due(inbox, session)
        if self._list_due():
            self._list_folders(session)
        every = min(settings.IMAP_INBOX_CHECK, settings.IMAP_POLL_INTERVAL)
        self.wake_at = now + max(0.5, float(every))

    def _check(self, folder_id: int) -> FolderCheck:
        return self.checks.setdefault(folder_id, FolderCheck())

    def _check_if_due(
        self, folder_id: int, session: ImapSession | None = None
    ) -> FolderCheck:
        """Sync a folder if a STATUS shows it changed (or a full sync is due).

        Without a session the STATUS and the sync use a command connection.
        """
        check = self._check(folder_id)
        now = time.monotonic()
        if now < check.next_check:
            return check
        check.next_check = now + float(settings.IMAP_INBOX_CHECK)
        name = Folder.objects.filter(id=folder_id).values_list("name", flat=True)
        folder = name.first()
        if folder is None:
            return check
        if session is None:
            status = with_session(self.account_id, lambda s: s.poll_status(folder))
        else:
            status = session.poll_status(folder)
        moved = check.moved(status)
        stale = now - check.last_sync >= float(settings.IMAP_POLL_INTERVAL)
        if moved or (stale and not check.sees_flags):
            self._sync(folder_id, check, session)
        return check

    def _folder_news(self, folder_id: int, status: FolderStatus) -> None:
        """Sync a folder NOTIFY reported on, unless its counts are as known."""
        check = self._check(folder_id)
        if check.moved(status):
            self._sync(folder_id, check)

    def _sync(
        self, folder_id: int, check: FolderCheck, session: ImapSession | None = None
    ) -> None:
        check.last_sync = time.monotonic()
        try:
            sync_and_publish(self.account_id, folder_id, session)
        except ImapError:
            check.known = None  # so the next counts sync it again
            raise

    # The folder list ----------------------------------------------------------

    def _list_at(self) -> float:
        return self.last_poll + float(settings.IMAP_POLL_INTERVAL)

    def _list_due(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self._list_at()

    def _list_folders(self, session: ImapSession) -> None:
        """folderlist.sync_folder_list on this connection (out of IDLE); publish."""
        listed = session.list_folders()
        quota = session.get_quota()
        names = sorted(session.capabilities.names)
        result = apply_folder_list(self.account_id, listed, names)
        quota_changed = record_usage(self.account_id, quota)
        self.last_poll = time.monotonic()
        if result.changed or quota_changed:
            user_id = user_id_of(self.account_id)
            if user_id is not None:
                events.publish(
                    user_id, {"type": events.FOLDERS, "account": self.account_id}
                )
        for stale in result.stale:
            door.sync_folder(self.account_id, stale)
