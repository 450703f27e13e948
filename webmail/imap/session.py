"""ImapSession: one logged-in IMAP connection with typed, thin verbs.

A session is NOT thread safe: one thread at a time (the pool lends each
session to one thread). Folder names are passed as the server spells them
(``Folder.name``); a name with non-ASCII characters is encoded for the
server first.

Unsolicited news (new mail, expunges, flag changes by other clients) is
reported by noop() and the IDLE helpers only; other verbs ignore it, since
the next resync (CHANGEDSINCE, or a flags diff) picks it up anyway.
"""

from __future__ import annotations

import contextlib

from webmail.imap.changes import ChangeVerbs
from webmail.imap.content import ContentVerbs
from webmail.imap.errors import ImapError
from webmail.imap.folders import FolderVerbs
from webmail.imap.messages import MessageVerbs
from webmail.imap.news import NewsVerbs
from webmail.imap.wire import Raw


class ImapSession(FolderVerbs, MessageVerbs, ContentVerbs, ChangeVerbs, NewsVerbs):
    """A logged-in connection. Use from one thread at a time."""

    def logout(self) -> None:
        """Log out and close the connection; errors are ignored."""
        with contextlib.suppress(ImapError, OSError):
            if self.idling:
                self.idle_done()
            if self.usable:
                self._channel.run(Raw(b"LOGOUT"))
        self.close()
