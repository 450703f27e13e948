"""Sanitize mail HTML for display. The only module that imports bleach.

The pipeline: parse with bleach's html5lib parser, drop dangerous elements
with their content (script, style, svg, ...), run bleach's allowlist
sanitizer and CSS sanitizer, then a final pass that rewrites image and link
URLs, blocks remote content and re-checks every style attribute after
entity decoding. The output is shown in a sandboxed iframe under a strict
CSP as well; this layer must hold on its own all the same.

HTML a user writes goes through the same pipeline before it is sent
(sanitize_outgoing): stricter on images and links, and it keeps the
<blockquote type="cite"> of a reply.
"""

from __future__ import annotations

import functools
import html
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import tinycss2  # type: ignore[import-untyped,unused-ignore]
from bleach import html5lib_shim
from bleach.css_sanitizer import CSSSanitizer
from bleach.sanitizer import BleachSanitizerFilter

# Bump whenever the output for some input may change: cached renderings
# are keyed by it.
POLICY_VERSION = 1

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi",
        "big", "blockquote", "br", "caption", "center", "cite", "code", "col",
        "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em",
        "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "i", "img", "ins", "kbd", "li", "main", "mark",
        "nav", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span",
        "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td",
        "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
    }
)  # fmt: skip

# Removed together with everything inside them.
DROPPED_WITH_CONTENT = frozenset(
    {
        "applet", "audio", "base", "basefont", "button", "canvas", "embed",
        "frame", "frameset", "head", "iframe", "input", "link", "math", "meta",
        "noembed", "noframes", "noscript", "object", "option", "param",
        "plaintext", "script", "select", "source", "style", "svg", "template",
        "textarea", "title", "track", "video", "xmp",
    }
)  # fmt: skip

_COMMON_ATTRS = ("style", "title", "dir", "lang", "align", "valign")
_TABLE_ATTRS = (
    "width", "height", "bgcolor", "background", "border", "cellpadding",
    "cellspacing", "colspan", "rowspan", "nowrap", "scope", "headers", "abbr",
)  # fmt: skip
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "*": list(_COMMON_ATTRS),
    "a": ["href"],
    "img": ["src", "alt", "width", "height", "border", "hspace", "vspace"],
    "font": ["color", "face", "size"],
    "table": list(_TABLE_ATTRS),
    "td": list(_TABLE_ATTRS),
    "th": list(_TABLE_ATTRS),
    "tr": list(_TABLE_ATTRS),
    "tbody": ["bgcolor"],
    "col": ["span", "width"],
    "colgroup": ["span", "width"],
    "hr": ["width", "size", "noshade", "color"],
    "ol": ["start", "type", "reversed"],
    "ul": ["type"],
    "li": ["value", "type"],
    "div": ["width", "height", "bgcolor"],
    "p": ["width"],
    "time": ["datetime"],
    "details": ["open"],
}
# What the editor's HTML may keep: the same, and the quote of a reply
# marked as such (mail programs show <blockquote type="cite"> as a quote).
OUTGOING_ATTRIBUTES: dict[str, list[str]] = {
    **ALLOWED_ATTRIBUTES,
    "blockquote": ["type"],
}

ALLOWED_CSS_PROPERTIES = frozenset(
    {
        "background-color", "border", "border-bottom", "border-bottom-color",
        "border-bottom-left-radius", "border-bottom-right-radius",
        "border-bottom-style", "border-bottom-width", "border-collapse",
        "border-color", "border-left", "border-left-color", "border-left-style",
        "border-left-width", "border-radius", "border-right",
        "border-right-color", "border-right-style", "border-right-width",
        "border-spacing", "border-style", "border-top", "border-top-color",
        "border-top-left-radius", "border-top-right-radius", "border-top-style",
        "border-top-width", "border-width", "box-sizing", "caption-side",
        "clear", "color", "direction", "display", "empty-cells", "float",
        "font", "font-family", "font-size", "font-style", "font-variant",
        "font-weight", "height", "letter-spacing", "line-height", "list-style",
        "list-style-position", "list-style-type", "margin", "margin-bottom",
        "margin-left", "margin-right", "margin-top", "max-height", "max-width",
        "min-height", "min-width", "opacity", "overflow", "overflow-wrap",
        "overflow-x", "overflow-y", "padding", "padding-bottom", "padding-left",
        "padding-right", "padding-top", "position", "table-layout",
        "text-align", "text-decoration", "text-indent", "text-transform",
        "unicode-bidi", "vertical-align", "visibility", "white-space", "width",
        "word-break", "word-spacing", "word-wrap", "background",
        "background-image", "background-position", "background-repeat",
        "background-size", "mso-line-height-rule",
    }
)  # fmt: skip

ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto", "cid"})
_SAFE_POSITIONS = {"static", "relative"}
_URL_ATTRS = {"src", "background"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\xa0`\s]+")

RewriteUrl = Callable[[str], str]


@dataclass(frozen=True)
class SanitizedHtml:
    """Sanitized markup and whether remote content was found in it."""

    html: str
    has_remote_content: bool


@dataclass
class _Policy:
    allow_remote: bool
    rewrite_url: RewriteUrl
    cid_url: RewriteUrl
    outgoing: bool = False
    found_remote: bool = False
    # Newsletters repeat the same style attribute hundreds of times.
    styles: dict[str, tuple[str | None, bool]] = field(default_factory=dict)


class _Tools(threading.local):
    """Per-thread parser and serializer: html5lib objects are not shareable."""

    def __init__(self) -> None:
        self.parser = html5lib_shim.BleachHTMLParser(
            tags=set(ALLOWED_TAGS | DROPPED_WITH_CONTENT),
            strip=True,
            consume_entities=False,
            namespaceHTMLElements=False,
        )
        self.walker = html5lib_shim.getTreeWalker("etree")
        self.serializer = html5lib_shim.BleachHTMLSerializer(
            quote_attr_values="always",
            omit_optional_tags=False,
            escape_lt_in_attrs=True,
            resolve_entities=False,
            sanitize=False,
            alphabetical_attributes=False,
        )


class _MailCSSSanitizer:
    """bleach's CSS sanitizer, fed the style as a browser reads it.

    Word and Outlook write ``font-family:&quot;Calibri&quot;``; without
    decoding the entities first the whole declaration would be lost.
    """

    def __init__(self) -> None:
        self._inner = CSSSanitizer(
            allowed_css_properties=ALLOWED_CSS_PROPERTIES, allowed_svg_properties=()
        )

    def sanitize_css(self, style: str) -> str:
        return _bleach_css(self._inner, style)


@functools.lru_cache(maxsize=4096)
def _bleach_css(inner: Any, style: str) -> str:
    # Pure in its input, and the same styles recur across messages.
    return str(inner.sanitize_css(html.unescape(style)))


_TOOLS = _Tools()
_CSS = _MailCSSSanitizer()


def sanitize_html(
    markup: str,
    *,
    allow_remote: bool,
    rewrite_url: RewriteUrl,
    cid_url: RewriteUrl,
) -> SanitizedHtml:
    """Return ``markup`` made safe to display.

    ``cid_url(content_id)`` gives the URL for an inline part;
    ``rewrite_url(url)`` gives the proxied URL for a remote image and is
    only called when ``allow_remote`` is true. Otherwise remote images are
    removed and ``has_remote_content`` is set.
    """
    if not markup:
        return SanitizedHtml("", False)
    policy = _Policy(allow_remote, rewrite_url, cid_url)
    rendered = _sanitize(markup, policy, ALLOWED_ATTRIBUTES)
    return SanitizedHtml(rendered, policy.found_remote)


def sanitize_outgoing(markup: str) -> str:
    """Return HTML a user wrote, made safe to send.

    The same pipeline as incoming mail, stricter: remote images are
    removed (and every image not given as ``cid:``, so an image whose
    source is dropped goes with it), ``cid:`` references stay as they are,
    and links get no target.
    """
    if not markup:
        return ""
    policy = _Policy(False, _refuse, _keep_cid, outgoing=True)
    return _sanitize(markup, policy, OUTGOING_ATTRIBUTES)


def _refuse(url: str) -> str:  # pragma: no cover (never called: no remote)
    raise AssertionError(url)


def _keep_cid(content_id: str) -> str:
    return "cid:" + quote(content_id, safe="@.-_+!$~*'")


def _sanitize(markup: str, policy: _Policy, attributes: dict[str, list[str]]) -> str:
    tools = _TOOLS
    dom = tools.parser.parseFragment(markup)
    _drop_elements(dom)
    stream: Any = BleachSanitizerFilter(
        source=tools.walker(dom),
        allowed_tags=ALLOWED_TAGS,
        attributes=attributes,
        allowed_protocols=ALLOWED_PROTOCOLS,
        strip_disallowed_tags=True,
        strip_html_comments=True,
        css_sanitizer=_CSS,
    )
    return str(tools.serializer.render(_finish(stream, policy)))


def _local_name(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2].lower()


def _drop_elements(root: Any) -> None:
    """Remove DROPPED_WITH_CONTENT elements, keeping the text after them."""
    stack = [root]
    while stack:
        parent = stack.pop()
        children = list(parent)
        previous = None
        for child in children:
            if _local_name(child.tag) in DROPPED_WITH_CONTENT or not isinstance(
                child.tag, str
            ):
                tail = child.tail or ""
                if previous is None:
                    parent.text = (parent.text or "") + tail
                else:
                    previous.tail = (previous.tail or "") + tail
                parent.remove(child)
            else:
                previous = child
                stack.append(child)


def _finish(stream: Iterator[dict[str, Any]], policy: _Policy) -> Iterator[Any]:
    for token in stream:
        if token["type"] in ("StartTag", "EmptyTag"):
            _fix_attributes(token, policy)
            bare_image = token["name"] == "img" and (None, "src") not in token["data"]
            if policy.outgoing and bare_image:
                continue
        yield token


def _fix_attributes(token: dict[str, Any], policy: _Policy) -> None:
    attrs: dict[tuple[str | None, str], str] = token["data"]
    name = token["name"]
    for key in list(attrs):
        attr = key[1]
        value = attrs[key]
        if attr in _URL_ATTRS:
            new = _image_url(value, policy)
        elif attr == "href":
            new = _link_url(value, policy)
        elif attr == "style":
            new = _cached_style(value, policy)
        else:
            continue
        if new is None:
            del attrs[key]
        else:
            attrs[key] = new
    href = attrs.get((None, "href"))
    if name == "blockquote" and attrs.get((None, "type"), "").lower() != "cite":
        attrs.pop((None, "type"), None)
    if name == "a" and href and not policy.outgoing and not href.startswith("#"):
        attrs[(None, "target")] = "_blank"
        attrs[(None, "rel")] = "noopener noreferrer"


def _scheme(url: str) -> str:
    match = _SCHEME.match(_URL_NOISE.sub("", url))
    return match.group(1).lower() if match else ""


def _image_url(value: str, policy: _Policy) -> str | None:
    """Return the URL to load an image from, or None to drop it."""
    url = html.unescape(value).strip()
    if url.startswith("//"):
        url = "https:" + url
    scheme = _scheme(url)
    if scheme == "cid":
        return policy.cid_url(_cid(url))
    if scheme in ("http", "https"):
        if not policy.allow_remote:
            policy.found_remote = True
            return None
        return policy.rewrite_url(_URL_NOISE.sub("", url))
    return None


def _cid(url: str) -> str:
    """Return the Content-ID a ``cid:`` URL names (RFC 2392)."""
    return unquote(_URL_NOISE.sub("", url)[4:]).strip("<>")


def _link_url(value: str, policy: _Policy) -> str | None:
    url = html.unescape(value).strip()
    scheme = _scheme(url)
    if scheme in ("http", "https", "mailto") or (not scheme and url[:1] == "#"):
        # The original spelling: the serializer keeps its entities as they are.
        return value
    if scheme == "cid":
        return policy.cid_url(_cid(url))
    return None


def _cached_style(value: str, policy: _Policy) -> str | None:
    if value not in policy.styles:
        before = policy.found_remote
        policy.found_remote = False
        result = _clean_style(value, policy)
        policy.styles[value] = (result, policy.found_remote)
        policy.found_remote = before
    result, remote = policy.styles[value]
    policy.found_remote = policy.found_remote or remote
    return result


def _clean_style(value: str, policy: _Policy) -> str | None:
    """Re-check a style attribute as the browser will read it.

    Entities are decoded first (``&#112;osition`` is ``position`` to a
    browser), then properties are allowlisted again, positioning that could
    escape the message pane is dropped and url() values are blocked or
    rewritten like images.
    """
    css = html.unescape(value)
    kept: list[str] = []
    for decl in tinycss2.parse_declaration_list(
        css, skip_comments=True, skip_whitespace=True
    ):
        if decl.type != "declaration":
            continue
        prop = decl.lower_name
        if prop not in ALLOWED_CSS_PROPERTIES:
            continue
        rendered = _clean_value(prop, decl.value, policy)
        if rendered is None:
            continue
        important = " !important" if decl.important else ""
        kept.append(f"{prop}: {rendered}{important}")
    return "; ".join(kept) if kept else None


def _clean_value(prop: str, tokens: list[Any], policy: _Policy) -> str | None:
    parts: list[str] = []
    for token in tokens:
        kind = token.type
        if (
            prop == "position"
            and kind == "ident"
            and token.lower_value not in _SAFE_POSITIONS
        ):
            return None
        if kind == "url":
            new = _image_url(token.value, policy)
            if new is None:
                return None
            parts.append(_css_url(new))
            continue
        if kind == "function":
            if token.lower_name != "url":
                if token.lower_name not in _SAFE_FUNCTIONS:
                    return None
            else:
                args = [t for t in token.arguments if t.type == "string"]
                new = _image_url(args[0].value, policy) if args else None
                if new is None:
                    return None
                parts.append(_css_url(new))
                continue
        if kind == "string":
            if "'" in token.value or "\n" in token.value:
                return None
            # Single quotes keep the attribute double-quoted (see _css_url).
            parts.append(f"'{token.value}'")
            continue
        if kind in ("() block", "[] block", "{} block", "error"):
            return None
        serialized = tinycss2.serialize([token])
        if "&" in serialized:
            # The serializer would turn "&lt;" back into an entity.
            return None
        parts.append(serialized)
    text = "".join(parts).strip()
    if prop == "position" and text.lower() not in _SAFE_POSITIONS:
        return None
    # A backslash could re-spell anything the checks above looked for.
    if not text or "\\" in text or "<" in text:
        return None
    return text


_SAFE_FUNCTIONS = {"rgb", "rgba", "hsl", "hsla", "calc"}


def _css_url(url: str) -> str:
    # Single quotes: bleach's serializer only handles double-quoted values.
    escaped = url.replace("\\", "").replace("'", "%27").replace("\n", "")
    return f"url('{escaped}')"
