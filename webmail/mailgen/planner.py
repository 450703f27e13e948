"""Decide, message by message, what a plausible mailbox holds.

The planner walks a timeline from oldest to newest and, for each message,
picks a folder, a kind, the people, the text and the flags, and whether it
continues an open conversation. All choices come from one random.Random, so
a seed fixes the whole mailbox.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from webmail.mailgen import corpus
from webmail.mailgen import messages as m
from webmail.mailgen.messages import Envelope, Person, Text

INBOX = "INBOX"
SENT = "Sent"
ARCHIVE = "Archive"
DRAFTS = "Drafts"
TRASH = "Trash"
JUNK = "Junk"
PROJECTS = "Projects"
ALPHA = "Projects/Alpha"
BETA = "Projects/Beta"
RECEIPTS = "Receipts"
TRAVEL = corpus.JA_FOLDER_NAME

# Folder names use "/" between levels; on disk it becomes Maildir++'s ".".
FOLDERS = (
    INBOX, SENT, ARCHIVE, DRAFTS, TRASH, JUNK, PROJECTS, ALPHA, BETA, RECEIPTS,
    TRAVEL,
)  # fmt: skip

# Where the messages that are not in INBOX go, by weight.
OTHER_FOLDERS = {
    SENT: 30, ARCHIVE: 22, DRAFTS: 2, TRASH: 7, JUNK: 6, PROJECTS: 2, ALPHA: 8,
    BETA: 6, RECEIPTS: 9, TRAVEL: 8,
}  # fmt: skip

THREAD_FOLDERS = (INBOX, SENT, ARCHIVE, ALPHA, BETA)

INCOMING_KINDS = {
    m.PLAIN_EN: 30, m.PLAIN_JA_JIS: 8, m.PLAIN_JA_UTF8: 5, m.PLAIN_JA_SJIS: 0.6,
    m.PLAIN_JA_EUC: 0.4, m.HTML: 16, m.NEWSLETTER: 11, m.INLINE_IMAGES: 4,
    m.ATTACH_PDF: 3, m.ATTACH_PNG: 2.5, m.ATTACH_JPEG: 2.5, m.ATTACH_DOCX: 2,
    m.ATTACH_ZIP: 1.5, m.CALENDAR: 3, m.FORWARD: 3, m.LARGE: 0.03,
    m.RECEIPT: 1, m.JUNK: 0.5,
}  # fmt: skip
SENT_KINDS = {
    m.PLAIN_EN: 50, m.PLAIN_JA_JIS: 15, m.PLAIN_JA_UTF8: 5, m.HTML: 15,
    m.ATTACH_PDF: 3, m.ATTACH_PNG: 2, m.ATTACH_JPEG: 2, m.ATTACH_DOCX: 3,
    m.ATTACH_ZIP: 1, m.FORWARD: 3,
}  # fmt: skip
KINDS_BY_FOLDER = {
    SENT: SENT_KINDS,
    DRAFTS: {m.PLAIN_EN: 70, m.PLAIN_JA_JIS: 20, m.HTML: 10},
    JUNK: {m.JUNK: 1},
    RECEIPTS: {m.RECEIPT: 1},
    TRAVEL: {
        m.PLAIN_JA_JIS: 40,
        m.PLAIN_JA_UTF8: 20,
        m.ATTACH_JPEG: 30,
        m.PLAIN_JA_SJIS: 5,
        m.PLAIN_JA_EUC: 5,
    },
}

# One message of each (folder, kind) pair is placed in every mailbox large
# enough, so even a small demo or test mailbox shows every case.
SHOWCASE = (
    *((INBOX, kind) for kind in m.KINDS if kind not in (m.RECEIPT, m.JUNK)),
    (RECEIPTS, m.RECEIPT),
    (JUNK, m.JUNK),
    (SENT, m.PLAIN_EN),
    (DRAFTS, m.PLAIN_EN),
    (TRASH, m.PLAIN_EN),
    (ARCHIVE, m.HTML),
    (PROJECTS, m.PLAIN_EN),
    (ALPHA, m.PLAIN_EN),
    (BETA, m.HTML),
    (TRAVEL, m.PLAIN_JA_JIS),
)

JAPANESE_KINDS = frozenset(m.JA_TEXT_ENCODING)
# Kinds whose text can be in either language and that can carry a thread.
CONVERSATION_KINDS = frozenset(
    (m.PLAIN_EN, m.HTML, m.INLINE_IMAGES, *JAPANESE_KINDS, *m.ATTACHMENT_KINDS)
)
EN_OFFSETS = (-480, -300, -240, 0, 60, 120)
OWNER_OFFSET = 60
MAX_OPEN_THREADS = 60
RECENT_SECONDS = 14 * 86400
YEAR_SECONDS = 365 * 86400


@dataclass(slots=True)
class Thread:
    """A conversation that later messages may continue."""

    subject: str
    japanese: bool
    correspondent: Person
    folder: str
    remaining: int
    message_ids: list[str] = field(default_factory=list)
    last_text: str = ""
    last_sender: Person | None = None
    # Index of the newest message, for marking it answered.
    last_index: int = -1


@dataclass(slots=True)
class Planned:
    """One message, ready to write."""

    index: int
    folder: str
    kind: str
    timestamp: int
    flags: str
    raw: bytes
    # Index of an earlier message the owner answered with this one.
    answers: int | None = None
    reply: bool = False


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def make_people(rng: random.Random, count: int = 160) -> tuple[list[Person], ...]:
    """Return (English, Japanese) correspondents, unique by address."""
    english: list[Person] = []
    japanese: list[Person] = []
    seen: set[str] = set()
    while len(english) < count * 2 // 3:
        first = rng.choice(corpus.EN_FIRST_NAMES)
        last = rng.choice(corpus.EN_LAST_NAMES)
        address = f"{first.lower()}.{last.lower()}@{rng.choice(corpus.EN_DOMAINS)}"
        if address not in seen:
            seen.add(address)
            english.append(Person(f"{first} {last}", address))
    while len(japanese) < count // 3:
        family, family_romaji = rng.choice(corpus.JA_FAMILY_NAMES)
        given, given_romaji = rng.choice(corpus.JA_GIVEN_NAMES)
        domain = rng.choice(corpus.JA_DOMAINS)
        address = f"{given_romaji}.{family_romaji}@{domain}"
        if address not in seen:
            seen.add(address)
            japanese.append(Person(f"{family} {given}", address, japanese=True))
    return english, japanese


class Planner:
    """Produce the messages of one mailbox in time order."""

    def __init__(
        self,
        *,
        count: int,
        seed: int,
        inbox_share: float,
        end: int,
        years: float,
        owner: Person,
    ) -> None:
        self.count = count
        self.seed = seed
        self.inbox_share = inbox_share
        self.end = end
        self.owner = owner
        self.rng = random.Random(seed)
        self.english, self.japanese = make_people(self.rng)
        self.threads: list[Thread] = []
        span = int(years * YEAR_SECONDS)
        # More mail in recent years, as mailboxes grow.
        offsets = sorted(self.rng.random() ** 0.7 for _ in range(count))
        self.timestamps = [end - span + int(span * u) for u in offsets]
        slots = min(count, len(SHOWCASE))
        positions = (
            self.rng.sample(range(count), slots) if count >= 4 * slots else range(slots)
        )
        self.showcase = dict(zip(positions, SHOWCASE[:slots], strict=True))

    def __iter__(self) -> Iterator[Planned]:
        for index in range(self.count):
            yield self.plan(index)

    def plan(self, index: int) -> Planned:
        """Decide and build message number index."""
        rng = self.rng
        timestamp = self.timestamps[index]
        if index in self.showcase:
            folder, kind = self.showcase[index]
        else:
            if rng.random() < self.inbox_share:
                folder = INBOX
            else:
                folder = _weighted(rng, OTHER_FOLDERS)
            kind = _weighted(rng, KINDS_BY_FOLDER.get(folder, INCOMING_KINDS))
        outgoing = folder in (SENT, DRAFTS)

        thread = None
        if (
            folder in THREAD_FOLDERS
            and kind in CONVERSATION_KINDS
            and self.threads
            and rng.random() < 0.45
            and index not in self.showcase
        ):
            thread = rng.choice(self.threads[-20:])
            if outgoing and thread.last_sender == self.owner:
                thread = None
        if thread is not None:
            japanese = thread.japanese
            correspondent = thread.correspondent
        else:
            japanese = kind in JAPANESE_KINDS or (
                kind in CONVERSATION_KINDS and folder != TRAVEL and rng.random() < 0.15
            )
            if folder == TRAVEL:
                japanese = True
            correspondent = rng.choice(self.japanese if japanese else self.english)
        if japanese and kind == m.PLAIN_EN:
            kind = m.PLAIN_JA_JIS
        elif not japanese and kind in JAPANESE_KINDS:
            kind = m.PLAIN_EN

        sender, recipient = (
            (self.owner, correspondent) if outgoing else (correspondent, self.owner)
        )
        env, text = self._envelope(index, kind, timestamp, sender, recipient, thread)
        raw = m.build_message(kind, env, text, rng, self.owner)
        flags = self._flags(folder, kind, timestamp)

        answers = None
        if thread is not None:
            if outgoing and thread.last_index >= 0:
                answers = thread.last_index
            self._continue(thread, env, text, index, sender)
        elif kind in CONVERSATION_KINDS and folder in THREAD_FOLDERS:
            self._open(env, text, index, sender, correspondent, japanese, folder)
        return Planned(
            index, folder, kind, timestamp, flags, raw, answers, thread is not None
        )

    def _envelope(
        self,
        index: int,
        kind: str,
        timestamp: int,
        sender: Person,
        recipient: Person,
        thread: Thread | None,
    ) -> tuple[Envelope, Text]:
        rng = self.rng
        japanese = sender.japanese or recipient.japanese
        if kind == m.NEWSLETTER:
            brand, address = rng.choice(corpus.NEWSLETTER_BRANDS)
            sender = Person(brand, address)
        elif kind == m.RECEIPT:
            shop, address = rng.choice(corpus.RECEIPT_SHOPS)
            sender = Person(shop, address)
        elif kind == m.JUNK:
            sender = Person(
                rng.choice(("Prize Center", "Account Team", "Dr. Wellness")),
                f"noreply{rng.randint(10, 99)}@promo.example.invalid",
            )

        if thread is not None:
            subject = "Re: " + thread.subject
        elif kind == m.NEWSLETTER:
            subject = rng.choice(corpus.NEWSLETTER_HEADLINES)
        elif kind == m.RECEIPT:
            subject = f"Your receipt from {sender.name}"
        elif kind == m.JUNK:
            subject = rng.choice(corpus.JUNK_SUBJECTS)
        elif kind == m.FORWARD:
            subject = "Fwd: " + rng.choice(corpus.EN_SUBJECTS)
        elif japanese:
            subject = rng.choice(corpus.JA_SUBJECTS)
        else:
            subject = rng.choice(corpus.EN_SUBJECTS)

        domain = sender.address.split("@", 1)[1]
        charset = m.JA_TEXT_ENCODING.get(kind, ("iso-2022-jp", ""))[0]
        env = Envelope(
            index=index,
            timestamp=timestamp,
            offset_minutes=(
                OWNER_OFFSET
                if sender == self.owner
                else 540
                if sender.japanese
                else EN_OFFSETS[zlib.crc32(sender.address.encode()) % len(EN_OFFSETS)]
            ),
            sender=sender,
            to=[recipient],
            subject=subject,
            message_id=f"<{timestamp}.{index}.{self.seed}@{domain}>",
            charset=charset if japanese else "utf-8",
            mailer=corpus.MAILERS[index % len(corpus.MAILERS)] if index % 3 else "",
        )
        if sender != self.owner:
            env.relay = (f"mx.{self.owner.address.split('@', 1)[1]}", f"smtp.{domain}")
        if thread is not None:
            env.in_reply_to = thread.message_ids[-1]
            refs = thread.message_ids
            env.references = tuple(refs if len(refs) <= 10 else refs[:1] + refs[-9:])
        if kind == m.NEWSLETTER:
            env.extra_headers = (
                f"List-Id: <news.{domain}>\n"
                f"List-Unsubscribe: <https://{domain}/unsubscribe/{index:x}>\n"
                "Precedence: bulk\n"
            )
        elif not japanese and rng.random() < 0.15:
            env.cc = [rng.choice(self.english)]
        return env, self._text(kind, japanese, sender, recipient, thread)

    def _text(
        self,
        kind: str,
        japanese: bool,
        sender: Person,
        recipient: Person,
        thread: Thread | None,
    ) -> Text:
        rng = self.rng
        pool: tuple[str, ...]
        openers: tuple[str, ...]
        if japanese:
            pool, openers = m.JA_WRAPPED, corpus.JA_REPLY_OPENERS
            name = recipient.name.split()[0]
            greeting = rng.choice(corpus.JA_GREETINGS).format(name=name)
            signoff = rng.choice(corpus.JA_SIGNOFFS)
        else:
            pool, openers = m.EN_WRAPPED, corpus.EN_REPLY_OPENERS
            greeting = rng.choice(corpus.EN_GREETINGS).format(
                name=recipient.name.split()[0]
            )
            signoff = rng.choice(corpus.EN_SIGNOFFS)
        if thread is not None:
            paragraphs = [rng.choice(openers)]
            if rng.random() < 0.5:
                paragraphs.append(rng.choice(pool))
            quote = thread.last_text
            quote_from = thread.last_sender.name if thread.last_sender else ""
        else:
            picks = rng.sample(range(len(pool)), rng.randint(1, 3))
            paragraphs = [pool[pick] for pick in picks]
            quote, quote_from = None, ""
        return Text(greeting, paragraphs, signoff, quote, quote_from)

    def _open(
        self,
        env: Envelope,
        text: Text,
        index: int,
        sender: Person,
        correspondent: Person,
        japanese: bool,
        folder: str,
    ) -> None:
        if self.rng.random() >= 0.5:
            return
        thread = Thread(
            subject=env.subject,
            japanese=japanese,
            correspondent=correspondent,
            folder=folder,
            remaining=self.rng.randint(1, 7),
        )
        self._continue(thread, env, text, index, sender)
        self.threads.append(thread)
        if len(self.threads) > MAX_OPEN_THREADS:
            self.threads.pop(0)

    def _continue(
        self, thread: Thread, env: Envelope, text: Text, index: int, sender: Person
    ) -> None:
        thread.message_ids.append(env.message_id)
        thread.last_text = text.paragraphs[-1]
        thread.last_sender = sender
        thread.last_index = index
        thread.remaining -= 1
        if thread.remaining < 0 and thread in self.threads:
            self.threads.remove(thread)

    def _flags(self, folder: str, kind: str, timestamp: int) -> str:
        rng = self.rng
        if folder == DRAFTS:
            return "DS"
        if folder == SENT:
            return "S"
        recent = self.end - timestamp < RECENT_SECONDS
        if folder == JUNK:
            seen = rng.random() < 0.2
        elif recent:
            seen = rng.random() < 0.4
        elif kind == m.NEWSLETTER:
            seen = rng.random() < 0.7
        else:
            seen = rng.random() < 0.96
        flagged = folder != JUNK and rng.random() < (0.05 if folder == INBOX else 0.02)
        return ("F" if flagged else "") + ("S" if seen else "")
