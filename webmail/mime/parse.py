"""Parse raw message bytes into what a reader sees.

``parse_message`` never raises: broken boundaries, truncation, absurd
nesting and bad charsets all yield a readable (if partial) result, with
what went wrong listed in ``defects``. Part ids are IMAP section numbers,
so an attachment can be fetched alone with ``BODY[<part_id>]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from webmail.mime.calendar import Invitation, calendar_summary, read_invitation
from webmail.mime.charsets import decode_text
from webmail.mime.entity import (
    RawHeaders,
    content_type,
    decode_transfer,
    decoded_size,
    find_boundary,
    split_entity,
    split_multipart,
)
from webmail.mime.filenames import safe_filename
from webmail.mime.headers import (
    Address,
    ContentHeader,
    decode_header,
    parse_addresses,
    parse_content_header,
    parse_date,
    unfold,
)
from webmail.mime.text import html_to_text, text_to_html, unflow
from webmail.mime.tnef import is_tnef, read_tnef

MAX_DEPTH = 40
MAX_PARTS = 1000
# Bodies beyond this are cut: nobody reads them and sanitizing is costly.
MAX_BODY_CHARS = 2_000_000

_MSGID = re.compile(rb"<[^<>\s]+>")
META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.IGNORECASE
)


@dataclass(frozen=True)
class Attachment:
    """A part a reader sees as a file.

    ``tnef_index`` is set for files unpacked from a winmail.dat: the file is
    entry ``tnef_index`` of ``read_tnef`` applied to part ``part_id``.
    """

    part_id: str
    filename: str
    content_type: str
    size: int
    content_id: str | None
    disposition: str
    tnef_index: int | None = None


@dataclass(frozen=True)
class ParsedMessage:
    """A message as a reader sees it; ``forwarded`` holds attached messages."""

    part_id: str
    subject: str
    from_: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    date: datetime | None
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...]
    forwarded: tuple[ParsedMessage, ...]
    defects: tuple[str, ...] = ()
    # Content-ID (without angle brackets) -> part id, for cid: URLs.
    cid_parts: tuple[tuple[str, str], ...] = ()
    # Whether text or html is only the start of a longer body.
    truncated: bool = False
    # The first calendar invitation (text/calendar or a .ics file) in it.
    invitation: Invitation | None = None

    def part_for_cid(self, cid: str) -> str | None:
        """Return the part id of the part with Content-ID ``cid``."""
        cid = cid.strip().strip("<>")
        for key, part_id in self.cid_parts:
            if key == cid:
                return part_id
        return None


@dataclass
class _Body:
    text: str | None = None
    html: str | None = None


@dataclass
class _State:
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[ParsedMessage] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    cids: list[tuple[str, str]] = field(default_factory=list)
    calendar: str | None = None
    invitation: Invitation | None = None
    truncated: bool = False
    # Shared with nested messages, so the bound holds for the whole tree.
    budget: list[int] = field(default_factory=lambda: [MAX_PARTS])

    def defect(self, text: str) -> None:
        if text not in self.defects:
            self.defects.append(text)


def _section(prefix: str, number: int) -> str:
    return f"{prefix}.{number}" if prefix else str(number)


def parse_message(data: bytes) -> ParsedMessage:
    """Parse a whole RFC 5322 message; never raises on malformed input."""
    try:
        return _parse_message(data, "", 0, [MAX_PARTS])
    except (RecursionError, MemoryError) as error:
        return _fallback(data, type(error).__name__)
    except Exception as error:  # Hostile input must never crash a worker.
        return _fallback(data, f"parser error: {type(error).__name__}")


def _fallback(data: bytes, defect: str) -> ParsedMessage:
    text = decode_text(data[:MAX_BODY_CHARS], None)
    return ParsedMessage(
        part_id="",
        subject="",
        from_=(),
        to=(),
        cc=(),
        reply_to=(),
        date=None,
        message_id=None,
        in_reply_to=None,
        references=(),
        text=text,
        html=None,
        attachments=(),
        forwarded=(),
        defects=(defect,),
        truncated=len(data) > MAX_BODY_CHARS,
    )


def _parse_message(
    data: bytes, prefix: str, depth: int, budget: list[int]
) -> ParsedMessage:
    headers, body = split_entity(data)
    state = _State(budget=budget)
    result = _entity(headers, body, _section(prefix, 1), prefix, depth, state)
    text, html = result.text, result.html
    if text is None and html is None and state.calendar:
        text = state.calendar
    return ParsedMessage(
        part_id=prefix,
        subject=decode_header(headers.get("subject")),
        from_=parse_addresses(headers.get_all("from")),
        to=parse_addresses(headers.get_all("to")),
        cc=parse_addresses(headers.get_all("cc")),
        reply_to=parse_addresses(headers.get_all("reply-to")),
        date=parse_date(headers.get("date")),
        message_id=_first_msgid(headers.get("message-id")),
        in_reply_to=_first_msgid(headers.get("in-reply-to")),
        references=tuple(
            m.decode("ascii", "replace")
            for m in _MSGID.findall(unfold(headers.get("references") or b""))
        ),
        text=text,
        html=html,
        attachments=tuple(state.attachments),
        forwarded=tuple(state.forwarded),
        defects=tuple(state.defects),
        cid_parts=tuple(state.cids),
        truncated=state.truncated,
        invitation=state.invitation,
    )


def _first_msgid(raw: bytes | None) -> str | None:
    if not raw:
        return None
    raw = unfold(raw)
    match = _MSGID.search(raw)
    value = match.group() if match else raw.strip()
    return value.decode("ascii", "replace") or None


def _entity(
    headers: RawHeaders,
    body: bytes,
    part_id: str,
    child_prefix: str,
    depth: int,
    state: _State,
    default_type: str = "text/plain",
    force_attachment: bool = False,
) -> _Body:
    state.budget[0] -= 1
    if state.budget[0] < 0:
        state.defect("too many parts")
        return _Body()
    ctype = content_type(headers, default_type)
    main = ctype.value
    if main.startswith("multipart/"):
        if depth >= MAX_DEPTH:
            state.defect("nesting too deep")
            return _Body()
        return _multipart(headers, body, ctype, child_prefix, depth + 1, state)
    disposition = parse_content_header(headers.get("content-disposition"))
    filename = disposition.get("filename") or ctype.get("name")
    is_attachment = force_attachment or disposition.value == "attachment"
    if main in ("message/rfc822", "message/global") and depth < MAX_DEPTH:
        return _forwarded(headers, body, part_id, depth + 1, state)
    is_text = main in ("text/plain", "text/html") or _is_readable_text(main)
    shown = not is_attachment and (not filename or disposition.value == "inline")
    if is_text and shown:
        return _text_body(headers, body, ctype, state)
    if main == "application/ms-tnef" or filename.lower() == "winmail.dat":
        return _tnef(headers, body, part_id, state)
    if main == "text/calendar" and state.calendar is None:
        data = decode_transfer(headers, body)
        state.calendar = calendar_summary(data, ctype.get("charset") or None)
    is_ics = main == "text/calendar" or filename.lower().endswith(".ics")
    if is_ics and state.invitation is None:
        data = decode_transfer(headers, body)
        state.invitation = read_invitation(data, ctype.get("charset") or None)
    _add_attachment(headers, body, part_id, ctype, disposition, filename, state)
    return _Body()


def _is_readable_text(main: str) -> bool:
    return main in (
        "text/enriched",
        "text/rfc822-headers",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
    )


def _multipart(
    headers: RawHeaders,
    body: bytes,
    ctype: ContentHeader,
    prefix: str,
    depth: int,
    state: _State,
) -> _Body:
    subtype = ctype.value.partition("/")[2]
    boundary_text = ctype.get("boundary")
    boundary = boundary_text.encode("utf-8") if boundary_text else find_boundary(body)
    split = split_multipart(body, boundary, MAX_PARTS) if boundary else None
    if split is None and boundary_text:
        # The declared boundary never occurs: try the one the body uses.
        guessed = find_boundary(body)
        if guessed:
            state.defect("boundary does not match the header")
            split = split_multipart(body, guessed, MAX_PARTS)
    if split is None:
        state.defect("multipart without its boundary")
        return _text_body(RawHeaders(()), body, ContentHeader("text/plain", {}), state)
    if not split.closed:
        state.defect("missing end boundary")
    children: list[tuple[str, RawHeaders, bytes]] = []
    for number, raw in enumerate(split.parts, 1):
        child_headers, child_body = split_entity(raw)
        children.append((_section(prefix, number), child_headers, child_body))
    default = "message/rfc822" if subtype == "digest" else "text/plain"

    def walk(index: int, force: bool = False) -> _Body:
        child_id, child_headers, child_body = children[index]
        return _entity(
            child_headers,
            child_body,
            child_id,
            child_id,
            depth,
            state,
            default,
            force,
        )

    if not children:
        return _Body()
    if subtype == "alternative":
        result = _Body()
        for index in range(len(children)):
            got = walk(index)
            result.text = got.text if got.text is not None else result.text
            result.html = got.html if got.html is not None else result.html
        return result
    if subtype == "related":
        root = _related_root(children, ctype.get("start"))
        result = _Body()
        for index in range(len(children)):
            if index == root:
                result = walk(index)
            else:
                walk(index, force=True)
        return result
    if subtype == "signed":
        result = walk(0)
        for index in range(1, len(children)):
            walk(index, force=True)
        return result
    if subtype == "encrypted":
        for index in range(len(children)):
            walk(index, force=True)
        return _Body()
    return _combine([walk(index) for index in range(len(children))])


def _related_root(children: list[tuple[str, RawHeaders, bytes]], start: str) -> int:
    wanted = start.strip().strip("<>")
    if wanted:
        for index, (_, headers, _) in enumerate(children):
            cid = decode_header(headers.get("content-id")).strip().strip("<>")
            if cid == wanted:
                return index
    return 0


def _combine(bodies: list[_Body]) -> _Body:
    """Join the inline bodies of a multipart/mixed in order."""
    present = [b for b in bodies if b.text is not None or b.html is not None]
    if not present:
        return _Body()
    if len(present) == 1:
        return present[0]
    texts = [
        b.text if b.text is not None else html_to_text(b.html or "") for b in present
    ]
    result = _Body(text="\n\n".join(texts))
    if any(b.html is not None for b in present):
        result.html = "\n".join(
            b.html if b.html is not None else text_to_html(b.text or "")
            for b in present
        )
    return result


def _text_body(
    headers: RawHeaders, body: bytes, ctype: ContentHeader, state: _State
) -> _Body:
    data = decode_transfer(headers, body)
    charset = ctype.get("charset") or None
    is_html = ctype.value == "text/html"
    if is_html and not charset:
        meta = META_CHARSET.search(data[:4096])
        if meta:
            charset = meta.group(1).decode("ascii")
    text = decode_text(data, charset)
    if len(text) > MAX_BODY_CHARS:
        state.defect("body truncated")
        state.truncated = True
        text = text[:MAX_BODY_CHARS]
    if is_html:
        return _Body(html=text)
    text = text.replace("\r\n", "\n")
    if ctype.get("format").lower() == "flowed":
        text = unflow(text, delsp=ctype.get("delsp").lower() == "yes")
    return _Body(text=text)


def _forwarded(
    headers: RawHeaders, body: bytes, part_id: str, depth: int, state: _State
) -> _Body:
    data = decode_transfer(headers, body)
    nested = _parse_message(data, part_id, depth, state.budget)
    state.forwarded.append(nested)
    state.defects.extend(d for d in nested.defects if d not in state.defects)
    name = _declared_filename(headers) or (nested.subject or "message") + ".eml"
    name = safe_filename(name, "message.eml")
    state.attachments.append(
        Attachment(
            part_id=part_id,
            filename=name,
            content_type="message/rfc822",
            size=len(data),
            content_id=None,
            disposition="attachment",
        )
    )
    return _Body()


def _declared_filename(headers: RawHeaders) -> str:
    disposition = parse_content_header(headers.get("content-disposition"))
    ctype = parse_content_header(headers.get("content-type"))
    return disposition.get("filename") or ctype.get("name")


def _tnef(headers: RawHeaders, body: bytes, part_id: str, state: _State) -> _Body:
    data = decode_transfer(headers, body)
    content = read_tnef(data) if is_tnef(data) else None
    if content is None or not content.files:
        _add_attachment(
            headers,
            body,
            part_id,
            ContentHeader("application/ms-tnef", {}),
            ContentHeader("attachment", {}),
            "winmail.dat",
            state,
        )
    if content is None:
        return _Body()
    for index, item in enumerate(content.files):
        name = safe_filename(item.name)
        state.attachments.append(
            Attachment(
                part_id=part_id,
                filename=name,
                content_type=guess_type(name),
                size=len(item.data),
                content_id=None,
                disposition="attachment",
                tnef_index=index,
            )
        )
    return _Body(text=content.body) if content.body else _Body()


def _add_attachment(
    headers: RawHeaders,
    body: bytes,
    part_id: str,
    ctype: ContentHeader,
    disposition: ContentHeader,
    filename: str,
    state: _State,
) -> None:
    cid = decode_header(headers.get("content-id")).strip().strip("<>") or None
    if cid:
        state.cids.append((cid, part_id))
    if not filename:
        filename = _default_name(ctype.value, part_id)
    state.attachments.append(
        Attachment(
            part_id=part_id,
            filename=safe_filename(filename),
            content_type=ctype.value,
            size=decoded_size(headers, body),
            content_id=cid,
            disposition="inline" if disposition.value == "inline" else "attachment",
        )
    )


_EXTENSIONS = {
    "text/calendar": "ics",
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "application/pgp-signature": "asc",
    "application/pkcs7-signature": "p7s",
    "application/x-pkcs7-signature": "p7s",
    "text/html": "html",
    "text/plain": "txt",
}


def _default_name(main: str, part_id: str) -> str:
    ext = _EXTENSIONS.get(main, "bin")
    return f"part-{part_id}.{ext}"


def guess_type(name: str) -> str:
    """Return the content type of a file named ``name`` (files in a winmail.dat)."""
    ext = name.rpartition(".")[2].lower()
    for ctype, known in _EXTENSIONS.items():
        if known == ext:
            return ctype
    return "application/octet-stream"
