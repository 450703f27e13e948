"""The plain-text alternative of HTML a user wrote.

Every HTML message also goes out as text, for readers that show no HTML
and for the quote of a plain-text reply. The text keeps what the markup
meant: list items start with "- " (or "1. " in a numbered list), a link
reads "text <url>", quoted blocks are prefixed with "> " per level, and
line breaks and blocks become lines.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_BLOCKS = {
    "address", "article", "aside", "caption", "center", "dd", "details", "div",
    "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "li", "main", "nav", "ol", "p", "pre", "section", "summary",
    "table", "tr", "ul",
}  # fmt: skip
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")
_MARKER = re.compile(r"\s*(-|\d+\.)\s*")


class _Writer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.depth = 0  # blockquote level
        self.skip = 0
        self.pre = 0
        self.lists: list[list[int]] = []  # [next number] or [] for bullets
        self.links: list[tuple[str, int]] = []  # (href, where its text starts)

    def _prefix(self) -> str:
        return ">" * self.depth + " " if self.depth else ""

    def end_line(self, force: bool = False) -> None:
        """Finish the line being written; an empty one only when forced (<br>)."""
        text = self.line.rstrip()
        if not force and _MARKER.fullmatch(self.line):
            return  # a list item whose text is in a block inside it
        if text or force:
            prefix = self._prefix()
            self.lines.append((prefix + text).rstrip() if text else prefix.rstrip())
        self.line = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        if tag == "br":
            self.end_line(force=True)
        elif tag == "blockquote":
            self.end_line()
            self.depth += 1
        elif tag in ("ul", "ol"):
            self.end_line()
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "li":
            self.end_line()
            indent = "  " * max(0, len(self.lists) - 1)
            numbering = self.lists[-1] if self.lists else []
            if numbering:
                self.line = f"{indent}{numbering[0]}. "
                numbering[0] += 1
            else:
                self.line = f"{indent}- "
        elif tag in _BLOCKS:
            self.end_line()
            if tag == "pre":
                self.pre += 1
        elif tag == "hr":
            self.end_line()
            self.lines.append(self._prefix() + "-" * 20)
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href, len(self.line)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.handle_data(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "hr", "img"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.end_line()
            self.depth = max(0, self.depth - 1)
        elif tag in ("ul", "ol"):
            self.end_line()
            self.line = ""
            if self.lists:
                self.lists.pop()
        elif tag in _BLOCKS:
            self.end_line()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            self._link_end(href, self.line[start:].strip())

    def _link_end(self, href: str, text: str) -> None:
        href = href.strip()
        if not href or href.startswith("#") or href.lower().startswith("cid:"):
            return
        shown = href[7:] if href.lower().startswith("mailto:") else href
        if text in (href, shown):
            return
        self.line += f" <{shown}>"

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            first, *rest = data.split("\n")
            self.line += first
            for piece in rest:
                self.end_line(force=True)
                self.line = piece
            return
        text = _SPACE.sub(" ", data)
        if not self.line.strip() and not self.line.endswith(("- ", ". ")):
            text = text.lstrip()
        elif self.line.endswith(" "):
            text = text.lstrip(" ")
        self.line += text


def html_to_plain(markup: str) -> str:
    """The text a reader without HTML sees of markup, ending in a newline."""
    writer = _Writer()
    try:
        writer.feed(markup)
        writer.close()
    except (AssertionError, ValueError):
        pass
    writer.end_line()
    text = "\n".join(writer.lines)
    # At most one blank line in a row, none at the ends.
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n" if text else ""
