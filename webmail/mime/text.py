"""Plain text to safe HTML, HTML to plain text, and format=flowed.

``text_to_html`` output needs no sanitizing: every character of the input is
escaped, and the only markup is what this module writes.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_URL = re.compile(
    r"(?P<url>(?:https?://|mailto:)[^\s<>\"'\u3000-\u303f\uff01-\uff5e]+)",
    re.IGNORECASE,
)
# Punctuation that usually ends a sentence rather than a URL.
_TRAILING = ".,;:!?)]}'\""


def _linkify_line(line: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _URL.finditer(line):
        url = match.group("url")
        end = match.end()
        while url and url[-1] in _TRAILING:
            if url[-1] == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
            end -= 1
        if url.lower() in ("http://", "https://", "mailto:"):
            continue
        out.append(_escape_text(line[pos : match.start()]))
        href = html.escape(url, quote=True)
        out.append(
            f'<a href="{href}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(url, quote=False)}</a>"
        )
        pos = end
    out.append(_escape_text(line[pos:]))
    return "".join(out)


def _escape_text(text: str) -> str:
    escaped = html.escape(text, quote=False)
    # Keep runs of spaces and leading indentation visible.
    return escaped.replace("  ", " \u00a0").replace("\t", "\u00a0" * 4)


def _quote_depth(line: str) -> tuple[int, str]:
    depth = 0
    rest = line
    while rest.startswith(">"):
        depth += 1
        rest = rest[1:]
        if rest.startswith(" ") and not rest.startswith("  "):
            rest = rest[1:]
    return depth, rest


def text_to_html(text: str) -> str:
    """Render plain text as HTML: escaped, linkified, quotes in blockquotes.

    Quoted blocks become ``<blockquote class="quoted">`` elements (nested by
    depth) that the interface can collapse.
    """
    out: list[str] = ['<div class="plain-text">']
    depth = 0
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for index, line in enumerate(lines):
        line_depth, rest = _quote_depth(line)
        while depth < line_depth:
            out.append('<blockquote class="quoted">')
            depth += 1
        while depth > line_depth:
            out.append("</blockquote>")
            depth -= 1
        out.append(_linkify_line(rest))
        if index < len(lines) - 1:
            out.append("<br>\n")
    out.append("</blockquote>" * depth)
    out.append("</div>")
    return "".join(out)


_SKIP_CONTENT = {"script", "style", "head", "title", "template", "noscript"}
_BLOCKS = {
    "p",
    "div",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "blockquote",
    "pre",
    "hr",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_CONTENT:
            self.skip += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_CONTENT:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Return the readable text of an HTML document, roughly line-broken."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):
        pass
    text = "".join(parser.parts)
    text = re.sub(r"[ \t\u00a0]+", " ", text)
    text = re.sub(r" *\n[ \n]*", "\n", text)
    return text.strip()


def unflow(text: str, delsp: bool = False) -> str:
    """Undo RFC 3676 format=flowed: join soft-broken lines per quote depth."""
    out: list[str] = []
    current: str | None = None
    current_depth = 0
    for raw_line in text.replace("\r\n", "\n").split("\n"):
        depth, line = _flowed_quote(raw_line)
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        is_signature = line == "-- "
        flowed = line.endswith(" ") and not is_signature
        if flowed and delsp:
            line = line[:-1]
        if current is not None and depth == current_depth:
            current += line
        else:
            if current is not None:
                out.append(_requote(current, current_depth))
            current, current_depth = line, depth
        if not flowed:
            out.append(_requote(current, current_depth))
            current = None
    if current is not None:
        out.append(_requote(current, current_depth))
    return "\n".join(out)


def _flowed_quote(line: str) -> tuple[int, str]:
    """Return a flowed line's quote depth and what follows its markers.

    RFC 3676 writes markers together (">> "); some clients put a space
    between them ("> > "), which is quoting too, not text.
    """
    depth = 0
    while line.startswith(">"):
        depth += 1
        line = line[1:]
        if line.startswith(" >"):
            line = line[1:]
    return depth, line


def _requote(line: str, depth: int) -> str:
    if not depth:
        return line
    return ">" * depth + " " + line
