"""Template tags and filters for the mailbox pages: rows, folders, dates."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from html import escape

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import ngettext

from webmail.views.dates import ListDates
from webmail.views.present import MessageRow, cached_reverse
from webmail.views.sizes import readable_size
from webmail.views.tree import FolderNode

register = template.Library()


def _e(value: object) -> str:
    """Escape a value for HTML text or a quoted attribute, as templates do."""
    return escape(str(value))


@register.filter
def mail_date(value: datetime | None) -> str:
    """Show a message date the way a list does: time today, else the date."""
    return ListDates()(value)


@register.filter
def size(value: int | None) -> str:
    """Show a size in bytes as "11.1 MB" (webmail.views.sizes)."""
    return readable_size(value)


@register.simple_tag
def message_row(row: MessageRow, oob: bool = False) -> SafeString:
    """Print one line of the message list."""
    return mark_safe(row_html(row, bool(oob)))  # noqa: S308 - escaped in row_html


@register.simple_tag
def message_rows(rows: list[MessageRow], oob: bool = False) -> SafeString:
    """Print every line of a message list, in one tag."""
    flag = bool(oob)
    return mark_safe("".join(row_html(row, flag) for row in rows))  # noqa: S308


def row_html(m: MessageRow, oob: bool = False) -> str:
    """Return the HTML of one line of the message list, every value escaped.

    The list is the page asked for most, and a row has some twenty values:
    printed here, a row costs about a fifteenth of what the template
    language took, so no row needs keeping from one page to the next.
    """
    words = m.labels
    subject = escape(m.subject)
    swap = ' hx-swap-oob="true"' if oob else ""
    pick = ""
    if m.pickable:
        # A folder's rows pick by UID, a number: nothing to escape. (Not
        # name="id": form controls named so would hide the form's own id.)
        name, value = ("message", escape(m.pick)) if m.pick else ("uid", m.uid)
        pick = (
            f'<label class="pick"><input type="checkbox" name="{name}"'
            f' value="{value}" form="bulk" data-pick>'
            f'<span class="visually-hidden">{words.select} {subject}</span></label>'
        )
    unread = "" if m.seen else f'<span class="visually-hidden">{words.unread} </span>'
    where = f'<span class="in-folder">{escape(m.folder)}</span> ' if m.folder else ""
    marks = ""
    if m.attachments:
        marks += _mark(words.attachments, "clip")
    if m.answered:
        marks += _mark(words.answered, "reply")
    if m.forwarded:
        marks += _mark(words.forwarded, "forward")
    if m.flagged:
        pressed, title, said = "true", words.unstar, words.starred
    else:
        pressed, title, said = "false", words.star, words.star
    url = escape(m.url)
    element_id = escape(m.dom_id) if m.dom_id else f"m{m.uid}"
    # Dragged onto a folder in the sidebar (static/js/dragmove.js).
    drag = ' draggable="true"' if m.pickable else ""
    return (
        f'<li id="{element_id}" class="{escape(m.classes)}"'
        f' data-uid="{m.uid}"{drag}{swap}>\n  {pick}\n'
        f'  <a class="open" href="{url}" hx-get="{url}" hx-target="#reader"'
        ' hx-push-url="true">\n'
        f'    <span class="from">{escape(m.sender)}</span>\n'
        f'    <time datetime="{escape(m.date_iso)}">{escape(m.date_text)}</time>\n'
        f'    <span class="subject">{unread}{where}{subject}</span>\n'
        f'    <span class="marks">{marks}</span>\n'
        f'    <span class="preview">{escape(m.preview)}</span>\n'
        "  </a>\n"
        f'  <button type="button" class="star" data-action="star"'
        f" hx-post=\"{escape(m.flag_url)}\" hx-vals='{_escaped_words(m.star_vals)}'"
        ' hx-target="closest li" hx-swap="outerHTML"'
        f' aria-pressed="{pressed}" title="{title}">'
        '<svg class="icon" aria-hidden="true"><use href="#i-flagged"/></svg>'
        f'<span class="visually-hidden">{said}</span></button>\n'
        "</li>"
    )


@functools.lru_cache(maxsize=16)
def _escaped_words(text: str) -> str:
    """Escape one of a few fixed texts (a star button's values), once."""
    return escape(text)


def _mark(label: str, icon: str) -> str:
    return (
        f'<svg class="icon" role="img" aria-label="{label}">'
        f'<use href="#i-{icon}"/></svg>'
    )


@register.simple_tag
def fixed_url(name: str, *args: int) -> str:
    """Return what {% url name args %} does, remembered, for ids as arguments.

    {% url %} works the URL out again on every render (the header of the
    mail pages has five); it depends only on its name, its arguments and
    where the site is mounted, the key of present.cached_reverse.
    """
    return cached_reverse(name, *args)


@register.simple_tag
def asset(path: str) -> str:
    """Return what {% static path %} does, remembered.

    The URL of an asset depends on STATIC_URL (where the site is mounted
    included) and the storage's names for the files, which a deployment
    fixes when it starts (collectstatic's manifest, when there is one).
    """
    return _asset(settings.STATIC_URL, path)


@functools.lru_cache(maxsize=64)
def _asset(base: str | None, path: str) -> str:
    # base is only part of the key: static() reads it itself.
    return static(path)


@register.filter
def mail_datetime(value: datetime | None) -> str:
    """Show a message's full date and time, in the user's time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return date_format(local, "DATETIME_FORMAT")


@register.simple_tag
def folder_items(nodes: list[FolderNode], current_id: int | None) -> SafeString:
    """Print the sidebar's folder lines (templates/webmail/_folders.html).

    Printed here rather than by a loop in the template: a line has ten
    values and tests, and the sidebar is on every list page. Folders the
    user unsubscribed from are left out, but for the open one.
    """
    lines = []
    for node in nodes:
        if not node.folder.subscribed and not node.kind and node.id != current_id:
            continue  # listed on the folder page (all folders)
        special = " special" if node.kind else ""
        current = ' aria-current="page"' if node.id == current_id else ""
        count = ""
        if node.unread:
            title = ngettext(
                "%(counter)s unread message", "%(counter)s unread messages", node.unread
            ) % {"counter": node.unread}
            count = f'<span class="count" title="{_e(title)}">{node.unread}</span>'
        url = _e(node.url)
        drag = ""
        if node.move_url:
            drag = (
                f' draggable="true" data-move-url="{_e(node.move_url)}"'
                f' data-label="{_e(node.label)}"'
            )
        lines.append(
            f'<li class="depth-{min(node.depth, 6)}{special}"'
            f' data-folder-id="{node.id}"{drag}>\n'
            f'  <a href="{url}" hx-get="{url}" hx-target="#app" hx-push-url="true"'
            f"{current}>\n"
            f'    <svg class="icon" aria-hidden="true"><use href="#i-'
            f'{_e(node.kind or "folder")}"/></svg>\n'
            f'    <span class="name">{_e(node.title)}</span>\n'
            f"    {count}\n"
            "  </a>\n"
            "</li>"
        )
    return mark_safe("\n".join(lines))  # noqa: S308 - escaped above


@register.simple_tag
def folder_options(
    nodes: list[FolderNode], selected: object = None, skip: object = None
) -> SafeString:
    """Print an <option> for each folder, but skip; selected is marked."""
    return _options(
        ((node.id, node.title) for node in nodes if node.id != skip), selected
    )


@register.simple_tag
def options(choices: Iterable[tuple[object, object]], selected: object) -> SafeString:
    """Print an <option> for each (value, label) pair; selected is marked."""
    return _options(choices, selected)


def _options(choices: Iterable[tuple[object, object]], selected: object) -> SafeString:
    html = "".join(
        f'<option value="{_e(value)}"{" selected" if value == selected else ""}>'
        f"{_e(label)}</option>"
        for value, label in choices
    )
    return mark_safe(html)  # noqa: S308 - escaped above


@register.simple_tag
def undo_seconds() -> int:
    """Return how long an action's notice shows (and offers Undo), in seconds."""
    return int(settings.UNDO_SECONDS)
