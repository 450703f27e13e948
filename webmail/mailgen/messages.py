"""Build whole raw messages of each kind from an envelope and some text."""

from __future__ import annotations

import html
import random
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from webmail.mailgen import corpus, payloads
from webmail.mailgen.mime import (
    Part,
    attachment_part,
    cached_base64,
    encode_words,
    format_address,
    format_date,
    message_part,
    multipart,
    text_part,
)

PLAIN_EN = "plain_en"
PLAIN_JA_JIS = "plain_ja_iso2022jp"
PLAIN_JA_UTF8 = "plain_ja_utf8"
PLAIN_JA_SJIS = "plain_ja_shift_jis"
PLAIN_JA_EUC = "plain_ja_euc_jp"
HTML = "html_alternative"
NEWSLETTER = "newsletter"
INLINE_IMAGES = "html_inline_images"
ATTACH_PDF = "attachment_pdf"
ATTACH_PNG = "attachment_png"
ATTACH_JPEG = "attachment_jpeg"
ATTACH_DOCX = "attachment_docx"
ATTACH_ZIP = "attachment_zip"
CALENDAR = "calendar_invite"
FORWARD = "forwarded_message"
LARGE = "large_attachment"
RECEIPT = "receipt"
JUNK = "junk"

KINDS = (
    PLAIN_EN, PLAIN_JA_JIS, PLAIN_JA_UTF8, PLAIN_JA_SJIS, PLAIN_JA_EUC, HTML,
    NEWSLETTER, INLINE_IMAGES, ATTACH_PDF, ATTACH_PNG, ATTACH_JPEG, ATTACH_DOCX,
    ATTACH_ZIP, CALENDAR, FORWARD, LARGE, RECEIPT, JUNK,
)  # fmt: skip

# Body charset and transfer encoding of Japanese mail, per kind.
JA_TEXT_ENCODING = {
    PLAIN_JA_JIS: ("iso-2022-jp", "7bit"),
    PLAIN_JA_UTF8: ("utf-8", "base64"),
    PLAIN_JA_SJIS: ("shift_jis", "8bit"),
    PLAIN_JA_EUC: ("euc-jp", "8bit"),
}

_ATTACH_TYPES = {
    ATTACH_PDF: ("pdf", "application/pdf"),
    ATTACH_PNG: ("png", "image/png"),
    ATTACH_JPEG: ("jpeg", "image/jpeg"),
    ATTACH_DOCX: (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ATTACH_ZIP: ("zip", "application/zip"),
}
ATTACHMENT_KINDS = tuple(_ATTACH_TYPES)

# Distinct attachment files per type: enough to look varied, few enough
# that every payload is encoded once and then reused.
PAYLOAD_VARIANTS = 12

FORWARD_NOTES = (
    "Forwarding this one; the original is attached.",
    "See the message below. Could you take a look when you have a moment?",
    "This came in yesterday and I think it is yours.",
)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who sends or receives mail."""

    name: str
    address: str
    japanese: bool = False


@dataclass(slots=True)
class Envelope:
    """The header fields of one message, decided by the planner."""

    index: int
    timestamp: int
    offset_minutes: int
    sender: Person
    to: list[Person]
    subject: str
    message_id: str
    cc: list[Person] = field(default_factory=list)
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # Header charset for Japanese names and subjects.
    charset: str = "utf-8"
    mailer: str = ""
    extra_headers: str = ""
    # Host names for a Received trace header; empty for mail never delivered.
    relay: tuple[str, str] | None = None


@dataclass(slots=True)
class Text:
    """What the body says: lines already wrapped, in one language."""

    greeting: str
    paragraphs: list[str]
    signoff: str
    quote: str | None = None
    quote_from: str = ""


def render_headers(env: Envelope, content_headers: str) -> str:
    """Return the header section (ending in the blank line) of a message."""
    cs = env.charset
    lines = [f"Return-Path: <{env.sender.address}>\n"]
    if env.relay:
        by, host = env.relay
        address = f"192.0.2.{env.index % 250 + 1}"  # TEST-NET-1, never routed
        lines.append(
            f"Received: from {host} ({host} [{address}])"
            f"\n\tby {by} with ESMTPS id {env.index:08X}"
            f"\n\tfor <{env.to[0].address}>;"
            f" {format_date(env.timestamp, 0)}\n"
        )
    lines += [
        f"Date: {format_date(env.timestamp, env.offset_minutes)}\n",
        f"From: {format_address(env.sender.name, env.sender.address, cs)}\n",
        "To: "
        + ",\n ".join(format_address(p.name, p.address, cs) for p in env.to)
        + "\n",
    ]
    if env.cc:
        cc = ",\n ".join(format_address(p.name, p.address, cs) for p in env.cc)
        lines.append(f"Cc: {cc}\n")
    lines.append(f"Subject: {encode_words(env.subject, cs)}\n")
    lines.append(f"Message-ID: {env.message_id}\n")
    if env.in_reply_to:
        lines.append(f"In-Reply-To: {env.in_reply_to}\n")
        lines.append("References: " + "\n ".join(env.references) + "\n")
    if env.mailer:
        lines.append(f"X-Mailer: {env.mailer}\n")
    lines.append(env.extra_headers)
    lines.append("MIME-Version: 1.0\n")
    lines.append(content_headers)
    lines.append("\n")
    return "".join(lines)


def assemble(env: Envelope, part: Part) -> bytes:
    """Return the whole message: headers of env, then part as its body."""
    headers, body = part
    return render_headers(env, headers).encode("ascii") + body


def plain_text(text: Text, name: str, japanese: bool) -> str:
    """Return the text body: greeting, paragraphs, sign-off and any quote."""
    parts = [text.greeting, *text.paragraphs, f"{text.signoff}\n{name}"]
    body = "\n\n".join(parts) + "\n"
    if text.quote:
        if japanese:
            intro = f"{text.quote_from} さんは書きました:"
        else:
            intro = f"{text.quote_from} wrote:"
        quoted = "\n".join("> " + line for line in text.quote.splitlines())
        body += f"\n{intro}\n{quoted}\n"
    return body


def _html_body(text: Text, name: str) -> str:
    paragraphs = "".join(
        f'<p style="margin:0 0 12px">{html.escape(p).replace(chr(10), " ")}</p>'
        for p in text.paragraphs
    )
    quote = ""
    if text.quote:
        quote = (
            '<blockquote style="border-left:2px solid #ccc;margin:0;padding-left:8px;'
            f'color:#555">{html.escape(text.quote).replace(chr(10), "<br>")}'
            "</blockquote>"
        )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        '<body style="font-family:Arial,sans-serif;font-size:14px;color:#222">\n'
        f"<p>{html.escape(text.greeting).replace(chr(10), '<br>')}</p>\n"
        f"{paragraphs}\n"
        f"<p>{html.escape(text.signoff)}<br><b>{html.escape(name)}</b></p>\n"
        f"{quote}</body></html>\n"
    )


def _body_text_part(text: Text, env: Envelope, kind: str) -> Part:
    body = plain_text(text, env.sender.name, env.sender.japanese)
    if kind in JA_TEXT_ENCODING:
        charset, encoding = JA_TEXT_ENCODING[kind]
        return text_part(body, charset, encoding)
    if env.sender.japanese or any(p.japanese for p in env.to):
        return text_part(body, "iso-2022-jp", "7bit")
    if body.isascii():
        return text_part(body, "us-ascii", "7bit")
    return text_part(body, "utf-8", "quoted-printable")


def _boundary(env: Envelope, level: int) -> str:
    return f"=_mailgen_{env.index:x}_{level}"


def _alternative(env: Envelope, text: Text, level: int, html_text: str) -> Part:
    return multipart(
        "alternative",
        _boundary(env, level),
        [
            _body_text_part(text, env, PLAIN_EN),
            text_part(html_text, "utf-8", "quoted-printable", "html"),
        ],
    )


def _attachment(kind: str, variant: int, japanese: bool, title: str) -> Part:
    extension, content_type = _ATTACH_TYPES[kind]
    names = corpus.ATTACHMENT_NAMES_JA if japanese else corpus.ATTACHMENT_NAMES_EN
    choices = names[extension]
    filename = choices[variant % len(choices)]
    key: tuple[object, ...] = (kind, variant)
    if kind == ATTACH_PDF:
        data = payloads.make_pdf(
            f"Document {variant + 1}",
            tuple(f"Item {n}: {n * 37 % 101} units" for n in range(1, 4 + variant)),
        )
    elif kind == ATTACH_PNG:
        data = payloads.make_png(variant)
    elif kind == ATTACH_JPEG:
        data = payloads.make_jpeg(variant)
    elif kind == ATTACH_DOCX:
        paragraphs = corpus.EN_PARAGRAPHS[variant : variant + 3]
        data = payloads.make_docx(title if title.isascii() else "Document", paragraphs)
        key = (kind, variant, title if title.isascii() else "")
    else:
        data = payloads.make_zip(variant)
    return attachment_part(filename, content_type, cached_base64(key, data))


def build_message(
    kind: str, env: Envelope, text: Text, rng: random.Random, owner: Person
) -> bytes:
    """Return the raw bytes of one message of the given kind."""
    if kind in (PLAIN_EN, *JA_TEXT_ENCODING):
        return assemble(env, _body_text_part(text, env, kind))
    if kind == HTML:
        return assemble(
            env, _alternative(env, text, 0, _html_body(text, env.sender.name))
        )
    if kind == NEWSLETTER:
        return assemble(env, _newsletter(env, rng))
    if kind == INLINE_IMAGES:
        return assemble(env, _inline_images(env, text, rng))
    if kind in _ATTACH_TYPES:
        body = _body_text_part(text, env, kind)
        parts = [
            body,
            _attachment(
                kind, rng.randrange(PAYLOAD_VARIANTS), env.sender.japanese, env.subject
            ),
        ]
        if rng.random() < 0.2:
            extra = rng.choice(ATTACHMENT_KINDS)
            parts.append(
                _attachment(extra, rng.randrange(PAYLOAD_VARIANTS), False, "Notes")
            )
        return assemble(env, multipart("mixed", _boundary(env, 0), parts))
    if kind == CALENDAR:
        return assemble(env, _calendar(env, text, owner))
    if kind == FORWARD:
        return assemble(env, _forward(env, text, rng))
    if kind == LARGE:
        return assemble(env, _large(env, text, rng))
    if kind == RECEIPT:
        return assemble(env, _receipt(env, rng))
    if kind == JUNK:
        return assemble(env, _junk(env, rng))
    raise ValueError(f"Unknown message kind: {kind}")


def _newsletter(env: Envelope, rng: random.Random) -> Part:
    host = env.sender.address.split("@", 1)[1]
    picks = rng.sample(range(len(corpus.NEWSLETTER_HEADLINES)), 3)
    articles = []
    plain = [f"{env.sender.name}\n"]
    for number, pick in enumerate(picks):
        headline = corpus.NEWSLETTER_HEADLINES[pick]
        blurb = corpus.NEWSLETTER_BLURBS[
            (pick + number) % len(corpus.NEWSLETTER_BLURBS)
        ]
        link = f"https://{host}/r/{env.index:x}/{pick}"
        articles.append(
            '<tr><td style="padding:16px 24px;border-bottom:1px solid #eee">'
            f'<img src="https://{host}/img/story-{pick}.jpg" width="552" height="240" '
            f'alt="" style="display:block;width:100%;height:auto;border-radius:6px">'
            f'<h2 style="font-size:20px;color:#1a3d2f;margin:12px 0 6px">'
            f"{html.escape(headline)}</h2>"
            f'<p style="font-size:15px;line-height:1.5;color:#333;margin:0">'
            f"{html.escape(blurb)}</p>"
            f'<a href="{link}" class="button" style="display:inline-block;'
            "margin-top:10px;padding:8px 14px;background:#2e7d5b;color:#fff;"
            'text-decoration:none;border-radius:4px">Read more</a></td></tr>\n'
        )
        plain.append(f"{headline}\n{blurb}\nRead more: {link}\n")
    unsubscribe = f"https://{host}/unsubscribe/{env.index:x}"
    html_text = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">\n<style>\n'
        "body { margin:0; background:#f4f1ea; font-family:Georgia,serif; }\n"
        ".wrapper { max-width:600px; margin:0 auto; background:#ffffff; }\n"
        ".button:hover { background:#1f5a40 !important; }\n"
        "@media (max-width:480px) { h2 { font-size:17px !important; } }\n"
        "</style></head>\n<body>\n"
        '<table class="wrapper" role="presentation" width="100%" cellpadding="0" '
        'cellspacing="0" style="background:#ffffff">\n'
        '<tr><td style="padding:20px 24px;background:#1a3d2f">'
        f'<img src="https://{host}/img/logo.png" width="160" height="40" '
        f'alt="{html.escape(env.sender.name)}"></td></tr>\n'
        + "".join(articles)
        + '<tr><td style="padding:16px 24px;font-size:12px;color:#888">'
        "You receive this because you signed up on our website. "
        f'<a href="{unsubscribe}" style="color:#888">Unsubscribe</a>'
        f'<img src="https://{host}/open/{env.index:x}.gif" width="1" height="1" '
        'alt="" style="display:none"></td></tr>\n</table>\n</body></html>\n'
    )
    plain.append(f"Unsubscribe: {unsubscribe}\n")
    return multipart(
        "alternative",
        _boundary(env, 0),
        [
            text_part("\n".join(plain), "utf-8", "quoted-printable"),
            text_part(html_text, "utf-8", "quoted-printable", "html"),
        ],
    )


def _inline_images(env: Envelope, text: Text, rng: random.Random) -> Part:
    count = rng.randint(1, 3)
    variants = [rng.randrange(PAYLOAD_VARIANTS) for _ in range(count)]
    ids = [f"image{n}.{env.index:x}@mailgen.example" for n in range(count)]
    images = "".join(
        f'<p><img src="cid:{cid}" width="96" height="64" alt="figure {n + 1}"></p>'
        for n, cid in enumerate(ids)
    )
    html_text = _html_body(text, env.sender.name).replace("</body>", images + "</body>")
    related = multipart(
        "related",
        _boundary(env, 1),
        [text_part(html_text, "utf-8", "quoted-printable", "html")]
        + [
            attachment_part(
                f"figure-{n + 1}.png",
                "image/png",
                cached_base64(("png", variant), payloads.make_png(variant)),
                inline_id=cid,
            )
            for n, (variant, cid) in enumerate(zip(variants, ids, strict=True))
        ],
        'type="text/html"',
    )
    return multipart(
        "alternative",
        _boundary(env, 0),
        [_body_text_part(text, env, PLAIN_EN), related],
    )


def _calendar(env: Envelope, text: Text, owner: Person) -> Part:
    start = datetime.fromtimestamp(env.timestamp, UTC).replace(minute=0, second=0)
    start += timedelta(days=3 + env.index % 5, hours=1)
    invite = payloads.make_invite(
        uid=f"event-{env.index:x}@mailgen.example",
        summary=env.subject if env.subject.isascii() else "Meeting",
        start=start,
        minutes=30 + 30 * (env.index % 3),
        organizer=env.sender.address,
        attendee=owner.address,
        stamp=datetime.fromtimestamp(env.timestamp, UTC),
    )
    calendar = (
        "Content-Type: text/calendar; charset=utf-8; method=REQUEST\n"
        "Content-Transfer-Encoding: 7bit\n",
        # Unencoded in an LF file, so LF line ends like the rest of it.
        invite.replace("\r\n", "\n").encode(),
    )
    alternative = multipart(
        "alternative",
        _boundary(env, 1),
        [_body_text_part(text, env, PLAIN_EN), calendar],
    )
    attached = attachment_part(
        "invite.ics", "application/ics", cached_base64(None, invite.encode())
    )
    return multipart("mixed", _boundary(env, 0), [alternative, attached])


def _forward(env: Envelope, text: Text, rng: random.Random) -> Part:
    first, last = rng.choice(corpus.EN_FIRST_NAMES), rng.choice(corpus.EN_LAST_NAMES)
    original_sender = Person(
        f"{first} {last}", f"{first.lower()}@{rng.choice(corpus.EN_DOMAINS)}"
    )
    inner_env = Envelope(
        index=env.index,
        timestamp=env.timestamp - rng.randint(3600, 30 * 86400),
        offset_minutes=0,
        sender=original_sender,
        to=[env.sender],
        subject=env.subject.removeprefix("Fwd: "),
        message_id=f"<fwd.{env.index:x}@{original_sender.address.split('@')[1]}>",
        mailer=rng.choice(corpus.MAILERS),
    )
    inner_text = Text(
        greeting=f"Hi {env.sender.name.split()[0]},",
        paragraphs=[rng.choice(EN_WRAPPED)],
        signoff="Thanks,",
    )
    inner = assemble(inner_env, _body_text_part(inner_text, inner_env, PLAIN_EN))
    note = Text(
        greeting=text.greeting,
        paragraphs=[rng.choice(FORWARD_NOTES), *text.paragraphs[:1]],
        signoff=text.signoff,
    )
    return multipart(
        "mixed",
        _boundary(env, 0),
        [
            _body_text_part(note, env, PLAIN_EN),
            message_part(inner, "forwarded.eml"),
        ],
    )


def _large(env: Envelope, text: Text, rng: random.Random) -> Part:
    variant = rng.randrange(4)
    size = (2 + variant) * 1024 * 1024 + 12345 * variant
    filename, content_type, data = payloads.make_large(variant, size)
    part = attachment_part(
        filename, content_type, cached_base64(("large", variant), data)
    )
    return multipart(
        "mixed", _boundary(env, 0), [_body_text_part(text, env, PLAIN_EN), part]
    )


def _receipt(env: Envelope, rng: random.Random) -> Part:
    items = rng.sample(corpus.RECEIPT_ITEMS, rng.randint(1, 4))
    total = sum(int(price.replace(".", "")) for _, price in items)
    order = f"{env.index % 100000:05d}"
    lines = [f"{name:<30} {price:>8}" for name, price in items]
    plain = (
        f"Thank you for your purchase at {env.sender.name}.\n\nOrder {order}\n\n"
        + "\n".join(lines)
        + f"\n{'Total':<30} {total // 100:>5}.{total % 100:02d}\n\n"
        "Your receipt is attached as a PDF.\n"
    )
    rows = "".join(
        f'<tr><td style="padding:4px 8px">{html.escape(name)}</td>'
        f'<td style="padding:4px 8px;text-align:right">{price}</td></tr>'
        for name, price in items
    )
    html_text = (
        '<html><body style="font-family:Helvetica,Arial,sans-serif">'
        f'<h1 style="font-size:18px">{html.escape(env.sender.name)}</h1>'
        f'<p>Order {order}</p><table style="border-collapse:collapse">{rows}'
        f'<tr><td style="padding:4px 8px"><b>Total</b></td><td style="padding:4px 8px;'
        f'text-align:right"><b>{total // 100}.{total % 100:02d}</b></td></tr>'
        "</table></body></html>\n"
    )
    variant = env.index % PAYLOAD_VARIANTS
    pdf = payloads.make_pdf(
        f"Receipt {variant}", tuple(f"{name}  {price}" for name, price in items[:1])
    )
    attachment = attachment_part(
        f"receipt-{order}.pdf",
        "application/pdf",
        cached_base64(("receipt", variant, items[0][0]), pdf),
    )
    alternative = multipart(
        "alternative",
        _boundary(env, 1),
        [
            text_part(plain, "us-ascii", "7bit"),
            text_part(html_text, "utf-8", "quoted-printable", "html"),
        ],
    )
    return multipart("mixed", _boundary(env, 0), [alternative, attachment])


def _junk(env: Envelope, rng: random.Random) -> Part:
    host = env.sender.address.split("@", 1)[1]
    lines = rng.sample(corpus.JUNK_LINES, 2)
    html_text = (
        '<html><body bgcolor="#ffff00"><center>'
        f'<img src="http://{host}/banner.gif" width="600">'
        + "".join(f'<p style="font-size:22px;color:red">{line}</p>' for line in lines)
        + f'<a href="http://{host}/claim?id={env.index:x}">'
        '<b style="font-size:30px">CLAIM NOW</b></a></center></body></html>\n'
    )
    return text_part(html_text, "utf-8", "quoted-printable", "html")


def _wrap_japanese(text: str, width: int = 34) -> str:
    # Japanese has no spaces to break at; break after 。 when the line is
    # long enough, else at the width, as mail clients do.
    lines = []
    line = ""
    for char in text:
        line += char
        if (char == "。" and len(line) > width // 2) or len(line) >= width:
            lines.append(line)
            line = ""
    if line:
        lines.append(line)
    return "\n".join(lines)


EN_WRAPPED = tuple(textwrap.fill(p, 72) for p in corpus.EN_PARAGRAPHS)
JA_WRAPPED = tuple(_wrap_japanese(p) for p in corpus.JA_PARAGRAPHS)
