"""Looking for text in mail on the worker's side, where the server cannot.

Servers differ in the text they can find. Cyrus 3.6, asked
SEARCH CHARSET UTF-8 BODY "来週", finds the word in UTF-8 mail but in no
ISO-2022-JP body; other servers refuse CHARSET UTF-8 altogether. Where
the server finds nothing for text that is not ASCII, or refuses the
charset, webmail.engine.search has the messages of a small folder read
here: the start of each (SCAN_BYTES, where the text parts usually are),
parsed and decoded as for reading (every Japanese charset), and the words
looked for in its text, subject and addresses. A folder with more than
SEARCH_SCAN_LIMIT messages (that pass the search's filters) is searched
in the cache instead: subjects, senders and previews.

A folder where the server found some hits is not read, unless the server
is known to miss such text: an earlier search found here what it had
not (noted per server for MISSES_SECONDS). So the server's usual answer
costs nothing more (Dovecot finds text in every charset), and on Cyrus a
search that finds the word in UTF-8 mail also finds it in ISO-2022-JP.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import redis
from django.core.cache import cache

from accounts.models import MailAccount
from webmail.imap import ImapSession
from webmail.mime import ParsedMessage, parse_message
from webmail.mime.headers import Address
from webmail.mime.text import html_to_text
from webmail.shared.searching import SearchQuery, words

logger = logging.getLogger(__name__)

# The start of each message read: its text parts, in all but rare mail.
SCAN_BYTES = 64 * 1024

# How long a server that missed text is searched here too where it finds some.
MISSES_SECONDS = 30 * 24 * 3600

# Messages fetched per FETCH: at most BATCH * SCAN_BYTES in memory at once.
BATCH = 100


def _misses_key(account_id: int) -> str:
    """The key of what is known of the account's server (all its users')."""
    server = (
        MailAccount.objects.filter(id=account_id)
        .values_list("imap_host", "imap_port")
        .first()
    )
    host, port = server or ("", 0)
    return f"search-misses:{host.lower()}:{port}"


def misses_text(account_id: int) -> bool:
    """Whether the account's server is known to miss text a search looks for."""
    try:
        return bool(cache.get(_misses_key(account_id)))
    except redis.RedisError:
        return False


def note_missed_text(account_id: int) -> None:
    """Remember that the server missed text the worker found itself."""
    try:
        cache.set(_misses_key(account_id), True, MISSES_SECONDS)
    except redis.RedisError as exc:
        logger.warning("Could not note a search the server missed: %s", exc)


def folded(text: str) -> str:
    """Return text as compared: full-width letters as half-width, any case."""
    return unicodedata.normalize("NFKC", text).casefold()


def scan_messages(
    session: ImapSession, uids: Sequence[int], query: SearchQuery
) -> list[int]:
    """Return the UIDs (of the selected folder) whose text holds every word."""
    wanted = [folded(word) for word in words(query.text)]
    found: list[int] = []
    for start in range(0, len(uids), BATCH):
        starts = session.fetch_message_starts(uids[start : start + BATCH], SCAN_BYTES)
        for uid, raw in starts.items():
            haystack = folded("\n".join(_texts(parse_message(raw), query.field)))
            if all(word in haystack for word in wanted):
                found.append(uid)
    return sorted(found)


def _texts(message: ParsedMessage, field: str) -> list[str]:
    """Return the parts of a message a search in field looks at (as IMAP's)."""
    texts: list[str] = []
    if field in ("text", "body"):
        if message.text is not None:
            texts.append(message.text)
        elif message.html is not None:
            texts.append(html_to_text(message.html))
    if field in ("text", "subject"):
        texts.append(message.subject)
    if field in ("text", "from"):
        texts += _people(message.from_)
    if field in ("text", "to"):
        texts += _people(message.to)
    if field == "text":
        texts += _people(message.cc)
    return texts


def _people(addresses: Sequence[Address]) -> list[str]:
    return [f"{person.name} <{person.address}>" for person in addresses]
