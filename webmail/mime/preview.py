"""One-line previews of a message for the message list."""

from __future__ import annotations

import re

from webmail.mime.parse import ParsedMessage
from webmail.mime.text import html_to_text

PREVIEW_LENGTH = 200
_SPACE = re.compile(r"\s+")


def preview_text(message: ParsedMessage, limit: int = PREVIEW_LENGTH) -> str:
    """Return the start of the message's text, whitespace collapsed.

    Quoted lines (replies' "> ...") are skipped: the new text is what a
    reader wants to see in a list.
    """
    if message.text is not None:
        text = message.text
    elif message.html is not None:
        text = html_to_text(message.html)
    else:
        return ""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    flat = _SPACE.sub(" ", " ".join(lines)).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "\u2026"
