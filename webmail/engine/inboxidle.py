"""INBOX's own IDLE connection, where the server pushes but cannot NOTIFY.

While a page shows another folder, INBOX's news reaches it through NOTIFY
where the server has it (Dovecot), on the watched folder's connection.
Cyrus has no NOTIFY, yet its IDLE pushes at once: there, a STATUS of INBOX
every IMAP_INBOX_CHECK seconds made new mail wait seconds, where a second
IDLE connection on INBOX brings it within a second. That connection is
one of the pool's IDLE connections (IMAP_IDLE_CONNECTIONS), so the
account stays within its cap; with only one allowed, INBOX is checked by
STATUS as before. Servers whose IDLE may not push (no CONDSTORE: Courier,
by default) keep the STATUS checks too.
"""

from __future__ import annotations

import time

from django.conf import settings

from webmail.engine.connections import HeldSession
from webmail.engine.publish import sync_and_publish
from webmail.engine.sync import flag_news_known
from webmail.imap import ImapSession
from webmail.imap.types import Capabilities


def pushes_without_notify(capabilities: Capabilities) -> bool:
    """Whether INBOX should get an IDLE connection of its own on this server."""
    return (
        settings.IMAP_IDLE_CONNECTIONS >= 2
        and capabilities.has("IDLE")
        and capabilities.has("CONDSTORE")
        and not capabilities.has("NOTIFY")
    )


class InboxIdle:
    """An IDLE connection on INBOX; a Watch calls it from its own steps."""

    def __init__(self, account_id: int, folder_id: int, name: str) -> None:
        self.account_id = account_id
        self.folder_id = folder_id
        self._held = HeldSession(account_id, folder=name)
        self.name = name
        self.started = 0.0

    @property
    def session(self) -> ImapSession | None:
        return self._held.session

    @property
    def idling(self) -> bool:
        session = self._held.session
        return session is not None and session.idling

    def start(self) -> None:
        """Open INBOX, sync it (what changed since last seen) and IDLE."""
        session = self._held.get()
        if session.idling:
            session.idle_done()
        session.open_folder(self.name)
        sync_and_publish(self.account_id, self.folder_id, session)
        session.idle_start()
        self.started = time.monotonic()

    def attend(self, renew_after: float) -> None:
        """Sync INBOX if the server reported news; IDLE again when due."""
        session = self._held.session
        if session is None or not session.idling:
            self.start()
            return
        news = session.idle_check(0)
        if not news and time.monotonic() - self.started < renew_after:
            return
        news += session.idle_done()
        # The webmail's own flag changes come back as news the cache has.
        if news and not flag_news_known(self.folder_id, news):
            sync_and_publish(self.account_id, self.folder_id, session)
        session.idle_start()
        self.started = time.monotonic()

    def release(self, error: BaseException | None = None) -> None:
        """Give the connection back to the pool."""
        self._held.release(error)
