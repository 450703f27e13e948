"""MIME parsing, charset repair and HTML sanitizing. No Django, no IMAP.

Entry points: ``parse_message`` (raw bytes to a ``ParsedMessage``),
``preview_text``, ``text_to_html`` and, in ``webmail.mime.sanitize`` (kept
out of this import so bleach loads only where it is used),
``sanitize_html``.
"""

from webmail.mime.charsets import decode_text
from webmail.mime.filenames import safe_filename
from webmail.mime.headers import Address, decode_header, parse_addresses, parse_date
from webmail.mime.parse import Attachment, ParsedMessage, parse_message
from webmail.mime.preview import preview_text
from webmail.mime.text import html_to_text, text_to_html

__all__ = [
    "Address",
    "Attachment",
    "ParsedMessage",
    "decode_header",
    "decode_text",
    "html_to_text",
    "parse_addresses",
    "parse_date",
    "parse_message",
    "preview_text",
    "safe_filename",
    "text_to_html",
]
