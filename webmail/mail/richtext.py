"""Writing in HTML: what the editor posts, made ready to send; the HTML a
new message, reply or forward starts with.

The editor (static/js/editor.js) posts its markup in the field "html",
with "format" set to "html"; without JavaScript only the plain textarea
is there and "format" stays "text". The markup is sanitized with the
outgoing profile, and images inside it become related parts
(webmail.mime.outgoing_html). A reply quotes the original's sanitized
HTML (or its escaped text) in a <blockquote type="cite">.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext

from accounts import preferences
from accounts.models import Identity, User
from webmail.mime.outgoing_html import InlineTooLarge, PreparedHtml, prepare_html
from webmail.mime.sanitize import sanitize_outgoing
from webmail.mime.text import text_to_html

HTML, TEXT = "html", "text"


class HtmlRefused(ValueError):
    """Written HTML that cannot be sent as it is; the message says why."""


@dataclass(frozen=True)
class Written:
    """What the form's body comes to: the text, and the HTML if any."""

    text: str
    prepared: PreparedHtml | None = None


def inline_limit() -> int:
    """The most the images inside one message's text may add up to, in bytes."""
    return int(settings.COMPOSE_MAX_INLINE_MB) * 1024 * 1024


def default_format(user: User) -> str:
    """ "html" or "text": what the user's new messages start in."""
    return HTML if preferences.compose_format(user) == HTML else TEXT


def written(form_format: str, text: str, markup: str, sender: str) -> Written:
    """The body the form holds; raise HtmlRefused (images too large)."""
    if form_format != HTML or not markup.strip():
        return Written(text)
    domain = sender.rpartition("@")[2]
    try:
        prepared = prepare_html(markup, domain, inline_limit())
    except InlineTooLarge as exc:
        raise HtmlRefused(
            gettext(
                "The images inside the text add up to %(size)s; they may add up "
                "to %(limit)s at most. Attach the larger ones as files instead."
            )
            % {"size": filesizeformat(exc.size), "limit": filesizeformat(exc.limit)}
        ) from exc
    return Written("", prepared)


def _lines(text: str) -> str:
    """Text as editor lines: one <div> each, escaped; <br> for an empty one."""
    return "".join(
        f"<div>{html.escape(line)}</div>" if line.strip() else "<div><br></div>"
        for line in text.split("\n")
    )


def signature_html(identity: Identity | None) -> str:
    """The identity's signature, below a "-- " line, for the editor: its own
    HTML (sanitized when it was saved), else its text as editor lines."""
    if identity is None:
        return ""
    if identity.signature_html.strip():
        return "<div>-- </div>" + identity.signature_html
    if not identity.signature.strip():
        return ""
    return _lines("-- \n" + identity.signature.strip())


def start_html(identity: Identity | None) -> str:
    """The HTML of a new message: room to write, then the signature."""
    signature = signature_html(identity)
    return "<div><br></div>" + ("<div><br></div>" + signature if signature else "")


def quoted_html(original_html: str, original_text: str) -> str:
    """The original of a reply or forward, safe to send: its HTML sanitized
    with the outgoing profile, or its text escaped."""
    if original_html.strip():
        return sanitize_outgoing(original_html)
    return sanitize_outgoing(text_to_html(original_text))


def reply_html(
    identity: Identity | None, intro: str, original_html: str, original_text: str
) -> str:
    """The HTML a reply or forward starts with: room to write, the signature,
    then the intro lines and the original in a blockquote."""
    quote = quoted_html(original_html, original_text)
    cite = f'<blockquote type="cite">{quote}</blockquote>' if quote else ""
    return (
        start_html(identity)
        + "<div><br></div>"
        + _lines(intro)
        + cite
        + ("<div><br></div>" if cite else "")
    )
