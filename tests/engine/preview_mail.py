"""Messages of every shape a preview line is read from, and the line each should get.

Each is built from mailgen's MIME pieces; the line expected is the one a
whole-body fetch gives (engine.bodies: preview_text of the parsed message).
"""

from __future__ import annotations

import base64
import uuid

from webmail.mailgen import corpus
from webmail.mailgen.mime import (
    Part,
    attachment_part,
    multipart,
    text_part,
)
from webmail.mailgen.payloads import make_pdf
from webmail.mime import parse_message, preview_text

ENGLISH = "\n\n".join(corpus.EN_PARAGRAPHS[:4]) + "\n"
# No spaces at all: a cut anywhere is inside a "word".
JAPANESE = "\n".join(corpus.JA_PARAGRAPHS[:8]) + "\n"
ACCENTED = "Café crème à la française, déjà vu: " + ENGLISH
# A head longer than the first octets read: its text starts later.
STYLE = "".join(f".c{n} {{ color: #{n:06x}; margin: {n}px; }}\n" for n in range(60))
NEWSLETTER = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>News</title>'
    f"<style>\n{STYLE}</style></head><body>"
    + "".join(f"<p>{p}</p>\n" for p in corpus.EN_PARAGRAPHS[4:8])
    + "</body></html>\n"
)
SHORT_HTML = (
    "<html><body><p>See you <b>at noon</b> &amp; bring the slides.</p></body></html>\n"
)
REPLY = "Agreed, let us go with the second option.\n\nKen wrote:\n" + "".join(
    f"> {line}\n" for line in ENGLISH.splitlines()[:6]
)


def _pdf() -> Part:
    pdf = make_pdf("Report", ("Figures", "Notes"))
    return attachment_part("report.pdf", "application/pdf", base64.encodebytes(pdf))


def _alternative(boundary: str) -> Part:
    return multipart(
        "alternative",
        boundary,
        [
            text_part(ENGLISH, "us-ascii", "7bit"),
            text_part(
                f"<html><body><p>{ENGLISH}</p></body></html>",
                "utf-8",
                "quoted-printable",
                "html",
            ),
        ],
    )


# name -> (the body part of the message: its content headers and body)
BODIES: dict[str, Part] = {
    "plain": text_part(ENGLISH, "us-ascii", "7bit"),
    "short": text_part("Lunch at noon?\n", "us-ascii", "7bit"),
    "reply": text_part(REPLY, "us-ascii", "7bit"),
    "html only": text_part(NEWSLETTER, "utf-8", "quoted-printable", "html"),
    "short html": text_part(SHORT_HTML, "utf-8", "7bit", "html"),
    "alternative": _alternative("alt-1"),
    "base64": text_part(JAPANESE, "utf-8", "base64"),
    "quoted-printable": text_part(ACCENTED, "utf-8", "quoted-printable"),
    "quoted-printable japanese": text_part(JAPANESE, "utf-8", "quoted-printable"),
    "iso-2022-jp": text_part(JAPANESE, "iso-2022-jp", "7bit"),
    "shift_jis": text_part(JAPANESE, "shift_jis", "8bit"),
    "euc-jp": text_part(JAPANESE, "euc-jp", "8bit"),
    "attachment only": multipart("mixed", "mixed-1", [_pdf()]),
    "alternative and attachment": multipart(
        "mixed", "mixed-2", [_alternative("alt-2"), _pdf()]
    ),
}


def raw_message(name: str) -> bytes:
    """Return the whole message named name, with CRLF line ends."""
    headers, body = BODIES[name]
    head = (
        "From: Ken <ken@example.org>\nTo: bob@example.org\n"
        f"Subject: {name}\nMessage-ID: <{uuid.uuid4().hex}@example.org>\n"
        "Date: Sat, 28 Nov 2026 10:00:00 +0900\nMIME-Version: 1.0\n"
        f"{headers}\n"
    )
    return (head.encode("ascii") + body).replace(b"\n", b"\r\n")


def whole_body_preview(raw: bytes) -> str:
    """The line a body fetched whole gives (engine.bodies.render_body)."""
    return preview_text(parse_message(raw))[:200]
