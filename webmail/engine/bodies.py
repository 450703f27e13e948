"""Message bodies fetched, parsed, sanitized and cached by the worker.

The worker fetches a message when it is first opened (or ahead of time,
when it is new): the whole message when it is small, otherwise only the
headers and text parts picked from its BODYSTRUCTURE (attachments stay on
the server until downloaded). It parses it with webmail.mime, sanitizes the
HTML once for the default policy (no remote content), keeps the result in
the body cache (webmail.shared.bodycache) and hands it to the page waiting
for it on that page's reply key.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils.translation import gettext_noop

from accounts.models import MailAccount
from webmail.engine.connections import with_session
from webmail.imap import ImapSession, MessageMissing
from webmail.imap.types import BodyPart
from webmail.mime import ParsedMessage, parse_message, preview_text, text_to_html
from webmail.mime.calendar import MAX_INVITATION
from webmail.mime.filenames import safe_filename
from webmail.mime.forwarded import attached_messages
from webmail.mime.parse import Attachment
from webmail.mime.sanitize import SanitizedHtml, sanitize_html
from webmail.models import Folder, Message
from webmail.shared import events
from webmail.shared.bodycache import (
    CACHE_SECONDS,
    REPLY_TTL,
    cache_key,
    cached_body,
    reply_client,
)
from webmail.shared.changes import flags_event, set_flags_by_ids
from webmail.shared.partlinks import inline_part_url, tnef_part_id

logger = logging.getLogger(__name__)

# Messages up to this size are fetched whole; larger ones part by part.
FULL_FETCH_MAX = 2 * 1024 * 1024

# Text parts larger than this are not shown whole (nobody reads them): only
# their first TEXT_PART_START octets, sanitized in about half a second.
MAX_TEXT_PART = 4 * 1024 * 1024
TEXT_PART_START = 256 * 1024


def _cached_size(body: dict[str, Any]) -> int:
    """Roughly what a body takes in the cache: its texts."""
    size = sum(len(body.get(key) or "") for key in ("text", "raw_html", "html"))
    if body.get("forwarded"):
        size += len(json.dumps(body["forwarded"]))
    return size


@dataclass
class Rendered:
    """A body as the worker rendered it, and what is kept of it afterwards.

    key is its cache key ("" when it is not to be cached); preview is the
    message list's start of its text.
    """

    body: dict[str, Any]
    folder_id: int = 0
    uid: int = 0
    preview: str = ""
    key: str = ""


def load_body(account_id: int, folder_id: int, uid: int) -> dict[str, Any]:
    """Fetch, parse, sanitize and cache a body (in the worker); return it."""
    rendered = render_body(account_id, folder_id, uid)
    store(rendered)
    save_preview(rendered)
    return rendered.body


def render_body(
    account_id: int, folder_id: int, uid: int, facts: dict[str, Any] | None = None
) -> Rendered:
    """Fetch, parse and sanitize a body (in the worker).

    facts are message_facts(); without them they are read from the
    database. Caching (store) and the preview (save_preview) are left to
    the caller, so that a reader waiting for the body need not wait for
    the preview's database write too.
    """
    if facts is None:
        facts = _facts_from_database(account_id, folder_id, uid)
        if facts is None:
            return Rendered({"error": gettext_noop("The folder no longer exists.")})
    folder = Folder(
        id=folder_id,
        account_id=account_id,
        name=facts["folder"],
        uidvalidity=facts["uidvalidity"],
    )
    size: int | None = facts.get("size")
    try:
        parsed = with_session(
            account_id, lambda s: _fetch(s, folder, uid, size), folder=folder.name
        )
    except MessageMissing as exc:
        return Rendered({"error": str(exc)})
    body = _render(account_id, folder, uid, parsed, facts["owner"])
    key = cache_key(account_id, folder, uid)
    if _cached_size(body) > settings.BODY_CACHE_MAX_ITEM:
        key = ""
    # The list's preview is written once, where the sync left none.
    preview = "" if facts.get("has_preview") else preview_text(parsed)[:200]
    return Rendered(body, folder_id, uid, preview, key)


def _facts_from_database(
    account_id: int, folder_id: int, uid: int
) -> dict[str, Any] | None:
    """Return message_facts() read in one query (None: no such folder)."""
    messages = Message.objects.filter(folder=OuterRef("pk"), uid=uid)
    row = (
        Folder.objects.filter(id=folder_id, account_id=account_id)
        .annotate(
            owner_id=F("account__user_id"),
            message_size=Subquery(messages.values("size")[:1]),
        )
        .values_list("name", "uidvalidity", "message_size", "owner_id")
        .first()
    )
    if row is None:
        return None
    name, uidvalidity, size, owner_id = row
    return {
        "folder": name,
        "uidvalidity": uidvalidity or 0,
        "size": size,
        "owner": owner_id,
    }


def store(rendered: Rendered) -> None:
    """Keep a rendered body in the cache, unless it is too large for it."""
    if not rendered.key:
        return
    try:
        cache.set(rendered.key, rendered.body, CACHE_SECONDS)
    except redis.RedisError as exc:
        # The reader can still be handed the body; the next open fetches it.
        logger.warning("Could not cache a body: %s", exc)


def reply(key: str, body: dict[str, Any]) -> None:
    """Hand a body to the web request waiting on key (fetch_through_worker)."""
    try:
        with reply_client().pipeline(transaction=False) as pipe:
            pipe.rpush(key, json.dumps(body))
            pipe.expire(key, REPLY_TTL)
            pipe.execute()
    except redis.RedisError as exc:
        # The reader then hears that the server is slow; the body may
        # still be in the cache for its next try.
        logger.warning("Could not hand a body to the web: %s", exc)


def save_preview(rendered: Rendered) -> None:
    """Give the message list the start of a message's text, if it lacks it."""
    if rendered.preview:
        Message.objects.filter(
            folder_id=rendered.folder_id, uid=rendered.uid, preview=""
        ).update(preview=rendered.preview)


def prefetch(account_id: int, folder_id: int, uid: int) -> None:
    """Have a message's body in the cache unless it is there (in the worker)."""
    folder = Folder.objects.filter(id=folder_id, account_id=account_id).first()
    if folder is None or cached_body(account_id, folder, uid) is not None:
        return
    load_body(account_id, folder_id, uid)


def _fetch(
    session: ImapSession, folder: Folder, uid: int, size: int | None
) -> ParsedMessage:
    info = session.open_folder(folder.name)
    if info.uidvalidity != folder.uidvalidity:
        raise MessageMissing(
            gettext_noop("The folder changed on the server; reload it.")
        )
    # The cache knows the size: a small message is fetched whole at once,
    # without asking for its structure first.
    if size is not None and size <= FULL_FETCH_MAX:
        try:
            return parse_message(session.fetch_raw(uid))
        except MessageMissing:
            raise MessageMissing(
                gettext_noop("The message is no longer on the server.")
            ) from None
    summaries = session.fetch_summaries([uid])
    if not summaries:
        raise MessageMissing(gettext_noop("The message is no longer on the server."))
    summary = summaries[0]
    if summary.size <= FULL_FETCH_MAX:
        return parse_message(session.fetch_raw(uid))
    parsed = _parse_parts(session, uid, summary.bodystructure)
    return _with_real_parts(parsed, summary.bodystructure)


def _parse_parts(session: ImapSession, uid: int, root: BodyPart) -> ParsedMessage:
    """Parse a large message from its header and text parts only.

    The chosen parts are put in a multipart/mixed of their own, with an
    empty placeholder for every attachment so that it is still listed. Of
    a text part larger than MAX_TEXT_PART only the start is fetched.
    """
    header = session.fetch_part(uid, "HEADER")
    boundary = b"webmail-parts-boundary-7f3a"
    chunks = [_strip_content_headers(header)]
    chunks.append(
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\r\n\r\n'
    )
    truncated = False
    for part in root.walk():
        if part.is_multipart or not part.section:
            continue
        is_text = part.content_type in ("text/plain", "text/html")
        # An invitation's facts show above the text: it is fetched too.
        is_invitation = part.content_type == "text/calendar" or (
            part.filename or ""
        ).lower().endswith(".ics")
        if is_invitation and part.size <= MAX_INVITATION:
            mime = session.fetch_part(uid, f"{part.section}.MIME")
            data = session.fetch_part(uid, part.section)
            chunks.append(b"--" + boundary + b"\r\n" + mime + data + b"\r\n")
        elif is_text and not part.is_attachment:
            mime = session.fetch_part(uid, f"{part.section}.MIME")
            if part.size <= MAX_TEXT_PART:
                data = session.fetch_part(uid, part.section)
            else:
                data = _start_of(session, uid, part)
                truncated = True
            chunks.append(b"--" + boundary + b"\r\n" + mime + data + b"\r\n")
        elif part.is_attachment:
            name = (part.filename or "attachment").replace('"', "")
            chunks.append(
                b"--" + boundary + b"\r\n"
                + f"Content-Type: {part.content_type}\r\n".encode()
                + f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'.encode()
                + b"\r\n"
            )  # fmt: skip
    chunks.append(b"--" + boundary + b"--\r\n")
    parsed = parse_message(b"".join(chunks))
    return replace(parsed, truncated=True) if truncated else parsed


def _start_of(session: ImapSession, uid: int, part: BodyPart) -> bytes:
    """Return the first TEXT_PART_START octets of a part.

    Base64 and quoted-printable are cut at a line end, so that what is cut
    off is whole lines of their encoding.
    """
    data = next(iter(session.stream_part(uid, part.section, TEXT_PART_START)), b"")
    end = data.rfind(b"\n")
    if part.encoding in ("base64", "quoted-printable") and end > 0:
        data = data[: end + 1]
    return data


def _with_real_parts(parsed: ParsedMessage, root: BodyPart) -> ParsedMessage:
    """Give a message parsed from chosen parts its real attachments.

    The parts _parse_parts put together are numbered in their own
    multipart, and left out inline images; downloads and cid: images need
    the server's section numbers, so those come from the BODYSTRUCTURE.
    """
    attachments = []
    cids = []
    for part in _leaves(root):
        cid = (part.content_id or "").strip().strip("<>") or None
        if cid:
            cids.append((cid, part.section))
        if not (part.is_attachment or cid):
            continue
        size = part.size * 3 // 4 if part.encoding == "base64" else part.size
        attachments.append(
            Attachment(
                part_id=part.section,
                filename=safe_filename(part.filename or f"part-{part.section}"),
                content_type=part.content_type,
                size=size,
                content_id=cid,
                disposition="inline" if part.disposition == "inline" else "attachment",
            )
        )
    return replace(parsed, attachments=tuple(attachments), cid_parts=tuple(cids))


def _leaves(part: BodyPart) -> Iterator[BodyPart]:
    """Yield the single parts; an attached message counts as one part."""
    if part.content_type.startswith("message/") or not part.parts:
        if part.section and not part.is_multipart:
            yield part
        return
    for child in part.parts:
        yield from _leaves(child)


def _strip_content_headers(header: bytes) -> bytes:
    lines = header.replace(b"\r\n", b"\n").split(b"\n")
    kept: list[bytes] = []
    skipping = False
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        skipping = line.lower().startswith((b"content-", b"mime-version"))
        if not skipping and line:
            kept.append(line)
    return b"\r\n".join(kept) + b"\r\nMIME-Version: 1.0\r\n"


def _render(
    account_id: int, folder: Folder, uid: int, parsed: ParsedMessage, user_id: int
) -> dict[str, Any]:
    def sanitized(message: ParsedMessage) -> SanitizedHtml:
        def cid_url(content_id: str) -> str:
            # Signed: the sandboxed body frame loads images without cookies.
            part = message.part_for_cid(content_id)
            return (
                inline_part_url(user_id, account_id, folder.id, uid, part)
                if part
                else ""
            )

        return sanitize_html(
            message.html or "",
            allow_remote=False,
            rewrite_url=lambda url: "",
            cid_url=cid_url,
        )

    def attachments(message: ParsedMessage) -> list[dict[str, Any]]:
        return [
            {
                "part_id": a.part_id
                if a.tnef_index is None
                else tnef_part_id(a.part_id, a.tnef_index),
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
            }
            for a in message.attachments
            if a.disposition != "inline" or not a.content_id
        ]

    def attached(message: ParsedMessage) -> dict[str, Any]:
        # Remote content in it stays blocked: "Show images" redoes the
        # message's own HTML only.
        html = sanitized(message).html if message.html else ""
        if not html and message.text:
            html = text_to_html(message.text)
        return {"html": html, "attachments": attachments(message)}

    safe = sanitized(parsed)
    return {
        "text": parsed.text,
        "raw_html": parsed.html or "",
        "html": safe.html,
        "has_remote_content": safe.has_remote_content,
        "cid_parts": [list(pair) for pair in parsed.cid_parts],
        "attachments": attachments(parsed),
        "forwarded": attached_messages(parsed, attached),
        "truncated": parsed.truncated,
        "reply_to": [[a.name, a.address] for a in parsed.reply_to],
        "invitation": parsed.invitation.as_dict() if parsed.invitation else None,
    }


def mark_seen_after_fetch(
    account_id: int, folder_id: int, uid: int, owner: int | None = None
) -> bool:
    """Mark a message read for a reader the worker just gave its body to.

    Returns whether that recorded an operation. No push is queued for it:
    the worker, which has the account's connections at hand, pushes it
    itself (tasks.fetch_body). owner: the account's user id, when the web
    sent it (mail.bodies.message_facts); otherwise it is read. A folder gone
    meanwhile has no message left to mark.
    """
    if owner is None:
        found = MailAccount.objects.filter(id=account_id).values_list("user_id")
        if not found:
            return False
        owner = found[0][0]
    user_id = owner
    changed = set_flags_by_ids(user_id, account_id, folder_id, [uid], ["\\Seen"], ())
    if changed:
        event = {**flags_event(folder_id, changed), "account": account_id}
        transaction.on_commit(lambda: events.publish(user_id, event))
    return bool(changed)
