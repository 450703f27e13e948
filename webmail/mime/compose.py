"""Building the messages a user sends, with the standard library's email package.

``build_message`` turns an ``Outgoing`` (plain values: addresses, subject,
text, optional HTML, files) into RFC 5322 bytes under ``policy.SMTP``:
CRLF line ends, RFC 2047 headers, RFC 2231 file names (plus the RFC 2047
``name=`` that some Japanese mail programs read), a Message-ID and a Date.
Bcc recipients are in the envelope (``envelope_recipients``), never in
the headers. Text is UTF-8, or ISO-2022-JP for readers whose programs want
it; HTML goes out as multipart/alternative with a plain text made from it,
its inline images beside it in a multipart/related.

No Django here: the page side and the worker both build with this module.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage, MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from typing import Any

from webmail.mime import policies
from webmail.mime.plaintext import html_to_plain

UTF8 = "utf-8"
ISO_2022_JP = "iso-2022-jp"
CHARSETS = (UTF8, ISO_2022_JP)
_ADDRESS_HEADERS = ("from", "to", "cc", "reply-to", "sender")
_JIS_HEADERS = ("subject", *_ADDRESS_HEADERS)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


class ComposeError(ValueError):
    """What the user typed cannot make a message (a bad address, say)."""


@dataclass(frozen=True)
class Recipient:
    """One mailbox: a display name (may be empty) and an address."""

    name: str
    address: str

    def formatted(self) -> str:
        """The mailbox as a header shows it, undecoded ("Name <a@b>")."""
        return formataddr((self.name, self.address))


@dataclass(frozen=True)
class FileToSend:
    """An attachment: its name as the user sees it, its type and its bytes."""

    filename: str
    data: bytes
    content_type: str = ""


@dataclass(frozen=True)
class InlineImage:
    """An image shown inside the HTML, which refers to it as cid:content_id."""

    content_id: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """Everything a message is made of, as plain values."""

    sender: Recipient
    to: tuple[Recipient, ...] = ()
    cc: tuple[Recipient, ...] = ()
    bcc: tuple[Recipient, ...] = ()
    subject: str = ""
    text: str = ""
    html: str | None = None
    reply_to: tuple[Recipient, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    files: tuple[FileToSend, ...] = ()
    inline: tuple[InlineImage, ...] = ()
    charset: str = UTF8
    message_id: str | None = None
    date: datetime | None = None
    extra_headers: tuple[tuple[str, str], ...] = field(default=())


def parse_recipients(text: str) -> tuple[Recipient, ...]:
    """Read comma-separated addresses as typed; raise ComposeError naming a bad one.

    Uses email.utils.getaddresses in its strict mode: "a@b, Name <c@d>" is
    two mailboxes, and anything without exactly one "@" is refused.
    """
    found: list[Recipient] = []
    pieces = [piece.strip() for piece in _split_typed(text)]
    for piece in pieces:
        if not piece:
            continue
        pairs = getaddresses([piece])
        if len(pairs) != 1 or not _plausible(pairs[0][1]):
            raise ComposeError(piece)
        name, address = pairs[0]
        found.append(Recipient(name.strip(), address.strip()))
    return tuple(found)


def _split_typed(text: str) -> list[str]:
    """Split at commas and semicolons outside quotes and angle brackets."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angled = False
    for char in text.replace("\n", " "):
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angled = True
        elif char == ">" and not quoted:
            angled = False
        if char in ",;" and not quoted and not angled:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _plausible(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(
        at
        and local
        and domain
        and "@" not in local.strip('"')
        and "." in domain
        and not any(c.isspace() for c in address)
        and not domain.startswith(".")
        and not domain.endswith(".")
    )


def new_message_id(sender: str) -> str:
    """A fresh Message-ID in the sender's domain, with angle brackets."""
    domain = sender.rpartition("@")[2] or "localhost"
    return make_msgid(domain=domain)


def envelope_recipients(outgoing: Outgoing) -> list[str]:
    """Every address the message goes to (To, Cc and Bcc), each once."""
    seen: dict[str, None] = {}
    for recipient in (*outgoing.to, *outgoing.cc, *outgoing.bcc):
        seen.setdefault(recipient.address, None)
    return list(seen)


class _Iso2022JpPolicy(EmailPolicy):
    """policy.SMTP, but headers with Japanese text are RFC 2047 in ISO-2022-JP.

    Old Japanese mail programs read only this encoding; the standard
    library's headers always encode as UTF-8.
    """

    def fold(self, name: str, value: Any) -> str:
        text = str(value)
        if text.isascii() or name.lower() not in _JIS_HEADERS:
            return str(super().fold(name, value))
        if name.lower() in _ADDRESS_HEADERS and hasattr(value, "addresses"):
            folded = f",{self.linesep} ".join(
                formataddr((a.display_name, a.addr_spec), charset=ISO_2022_JP)
                for a in value.addresses
            )
        else:
            header = Header(text, ISO_2022_JP, header_name=name)
            folded = header.encode(linesep=self.linesep)
        return f"{name}: {folded}{self.linesep}"

    def fold_binary(self, name: str, value: Any) -> bytes:
        if str(value).isascii() or name.lower() not in _JIS_HEADERS:
            return super().fold_binary(name, value)
        return self.fold(name, value).encode("ascii")


SMTP_POLICY = policies.SMTP
_JIS_POLICY = _Iso2022JpPolicy(**{**SMTP_POLICY.__dict__})


def _header_addresses(recipients: Sequence[Recipient]) -> list[HeaderAddress]:
    try:
        return [
            HeaderAddress(display_name=r.name, addr_spec=r.address) for r in recipients
        ]
    except (ValueError, IndexError) as exc:
        raise ComposeError(str(exc)) from exc


def _fits(charset: str, *texts: str) -> bool:
    try:
        for text in texts:
            text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def _set_text(message: EmailMessage, text: str, charset: str, subtype: str) -> None:
    body = text.replace("\r\n", "\n")
    if not body.endswith("\n"):
        body += "\n"
    if charset == UTF8 and body.isascii():
        charset = "us-ascii"
    message.set_content(body, subtype=subtype, charset=charset)


def _split_type(content_type: str, filename: str) -> tuple[str, str]:
    # The type comes from the browser: anything but a plain type/subtype
    # (parameters, line breaks) becomes application/octet-stream.
    ctype = content_type or mimetypes.guess_type(filename)[0] or ""
    maintype, _, subtype = ctype.strip().lower().partition("/")
    if not (_TOKEN.fullmatch(maintype) and _TOKEN.fullmatch(subtype)):
        return "application", "octet-stream"
    return maintype, subtype


def _name_for_japanese(part: MIMEPart, filename: str, ctype: str) -> None:
    if filename.isascii():
        return
    # RFC 2231 (Content-Disposition) for standard readers, and the RFC 2047
    # name= that some Japanese mail programs read instead; set raw, or the
    # email package would turn it into RFC 2231 too.
    name = Header(filename, UTF8, maxlinelen=70).encode(linesep="\r\n")
    del part["Content-Type"]
    part.set_raw("Content-Type", f'{ctype};\r\n name="{name}"')


def attachment_headers(filename: str, content_type: str = "") -> bytes:
    """The header block (ending in a blank line) of a base64 attachment part.

    The same headers build_email gives a file; the caller writes the body.
    """
    maintype, subtype = _split_type(content_type, filename)
    part = MIMEPart(policy=SMTP_POLICY)
    part.set_content(
        b"", maintype=maintype, subtype=subtype, filename=filename, cte="base64"
    )
    _name_for_japanese(part, filename, f"{maintype}/{subtype}")
    head = part.as_bytes(policy=SMTP_POLICY).partition(b"\r\n\r\n")[0]
    return head + b"\r\n\r\n"


def message_headers(filename: str) -> bytes:
    """The header block (ending in a blank line) of a forwarded whole message.

    message/rfc822 may not be base64 (RFC 2046): the message goes as it is
    stored, so its body is declared 8bit; the caller writes it.
    """
    part = MIMEPart(policy=SMTP_POLICY)
    part["Content-Type"] = "message/rfc822"
    part.add_header("Content-Disposition", "attachment", filename=filename)
    part["Content-Transfer-Encoding"] = "8bit"
    head = b"".join(
        SMTP_POLICY.fold_binary(name, value) for name, value in part.items()
    )
    return head + b"\r\n"


def _attach(message: EmailMessage, file: FileToSend) -> None:
    maintype, subtype = _split_type(file.content_type, file.filename)
    message.add_attachment(
        file.data, maintype=maintype, subtype=subtype, filename=file.filename
    )
    part = list(message.iter_attachments())[-1]
    _name_for_japanese(part, file.filename, f"{maintype}/{subtype}")


def _add_html(
    message: EmailMessage, markup: str, inline: Sequence[InlineImage]
) -> None:
    """Make message multipart/alternative (text, then HTML), with the HTML
    inside a multipart/related with its images when it has any."""
    message.add_alternative(markup, subtype="html", charset=UTF8)
    if not inline:
        return
    html_part = list(message.iter_parts())[-1]
    assert isinstance(html_part, MIMEPart)
    for image in inline:
        maintype, subtype = _split_type(image.content_type, "")
        html_part.add_related(
            image.data,
            maintype=maintype,
            subtype=subtype,
            cid=f"<{image.content_id}>",
            disposition="inline",
        )
    html_part.set_param("type", "text/html")  # RFC 2387: the root's type


def build_email(outgoing: Outgoing) -> EmailMessage:
    """Return the message as an EmailMessage (no Bcc header)."""
    if outgoing.charset not in CHARSETS:
        raise ComposeError(outgoing.charset)
    # ISO-2022-JP lacks many characters (the circled digits, most of
    # Unicode); a message it cannot carry whole goes out in UTF-8 instead.
    names = [r.name for r in (outgoing.sender, *outgoing.to, *outgoing.cc)]
    # The plain alternative always says what the HTML says.
    text = outgoing.text if outgoing.html is None else html_to_plain(outgoing.html)
    texts = [outgoing.subject, text, *names]
    jis = outgoing.charset == ISO_2022_JP and _fits(ISO_2022_JP, *texts)
    charset = ISO_2022_JP if jis else UTF8
    message = EmailMessage(policy=_JIS_POLICY if jis else SMTP_POLICY)
    message["From"] = _header_addresses([outgoing.sender])
    if outgoing.to:
        message["To"] = _header_addresses(outgoing.to)
    if outgoing.cc:
        message["Cc"] = _header_addresses(outgoing.cc)
    if outgoing.reply_to:
        message["Reply-To"] = _header_addresses(outgoing.reply_to)
    message["Subject"] = outgoing.subject
    date = outgoing.date or datetime.now().astimezone()
    message["Date"] = format_datetime(date)
    message["Message-ID"] = outgoing.message_id or new_message_id(
        outgoing.sender.address
    )
    if outgoing.in_reply_to:
        message["In-Reply-To"] = outgoing.in_reply_to
    if outgoing.references:
        message["References"] = " ".join(outgoing.references)
    for name, value in outgoing.extra_headers:
        message[name] = value
    _set_text(message, text, charset, "plain")
    if outgoing.html is not None:
        _add_html(message, outgoing.html, outgoing.inline)
    for file in outgoing.files:
        _attach(message, file)
    for part in message.walk():
        if part is not message:
            del part["MIME-Version"]  # only the top of a message has one
    return message


def build_message(outgoing: Outgoing) -> bytes:
    """Return the message's bytes, CRLF-terminated, as they go to SMTP."""
    return build_email(outgoing).as_bytes()
