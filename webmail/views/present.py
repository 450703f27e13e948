"""What the mailbox templates show, built from the cache rows.

The templates read these plain objects rather than the models, so that the
list template stays lean and the views decide every URL in one place.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import escape
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from webmail.mail.conversations import Conversation
from webmail.mail.folders import personal_top
from webmail.views.dates import ListDates
from webmail.views.tree import FolderInfo, FolderNode, build_tree

if TYPE_CHECKING:
    from accounts.models import MailAccount
    from webmail.views.attached import Attachment, Invitation


@dataclass(frozen=True)
class Labels:
    """The words of a list row, translated once per list rather than per row.

    The stand-ins for a missing sender or subject become row values (and are
    escaped with them); the others are HTML already, escaped here once.
    """

    unknown_sender: str
    no_subject: str
    unread: str
    attachments: str
    answered: str
    forwarded: str
    star: str
    unstar: str
    starred: str
    select: str


def labels() -> Labels:
    """Return the row words in the active language."""
    return _labels(get_language())


@functools.lru_cache(maxsize=32)
def _labels(language: str | None) -> Labels:
    # Worked out once per language (the language is the cache's key).
    return Labels(
        unknown_sender=gettext("(unknown sender)"),
        no_subject=gettext("(no subject)"),
        unread=escape(gettext("Unread:")),
        attachments=escape(gettext("Has attachments")),
        answered=escape(gettext("Answered")),
        forwarded=escape(gettext("Forwarded")),
        star=escape(gettext("Star")),
        unstar=escape(gettext("Unstar")),
        starred=escape(gettext("Starred")),
        select=escape(gettext("Select:")),
    )


@dataclass(slots=True)
class MessageRow:
    """One line of the message list, with its text ready to print.

    The list is the hottest part of the page: everything a row shows is
    worked out here, so that printing it (mail.row_html) only joins values.
    Not frozen: a frozen dataclass takes four times as long to make, and a
    list makes fifty.
    """

    uid: int
    url: str
    flag_url: str
    classes: str
    sender: str
    subject: str
    preview: str
    date_iso: str
    date_text: str
    seen: bool
    flagged: bool
    answered: bool
    forwarded: bool
    attachments: bool
    labels: Labels
    # Set in lists that mix folders (search results): the folder's title,
    # and an element id that stays unique when UIDs repeat across folders.
    folder: str = ""
    dom_id: str = ""
    # Whether the row has a checkbox for the selection.
    pickable: bool = True
    # What the checkbox sends: the UID in a folder's list, the cached
    # message's id in lists that mix folders (UIDs repeat across folders).
    pick: str = ""

    @property
    def star_vals(self) -> str:
        """The star button's form values: the flag to set, and where the row is."""
        # JSON of fixed words, written out: json.dumps cost a tenth of a row.
        flag = "0" if self.flagged else "1"
        if not self.dom_id:
            return f'{{"flagged": "{flag}"}}'
        where = "all" if self.folder else "one"
        return f'{{"flagged": "{flag}", "in": "{where}"}}'


@dataclass
class MessageView:
    """An open message: its headers, where its body loads from, and actions."""

    uid: int
    url: str
    body_url: str
    flag_url: str
    delete_url: str
    allow_sender_url: str
    subject: str
    sender: str
    sender_address: str
    to: str
    cc: str
    date: datetime | None
    flagged: bool
    seen: bool = True
    has_remote: bool = False
    remote_allowed: bool = False
    error: str = ""
    # Only the start of its text is shown: it is too long.
    truncated: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    invitation: Invitation | None = None
    reply_url: str = ""
    reply_all_url: str = ""
    forward_url: str = ""
    forward_attached_url: str = ""
    # A draft: the compose page editing it.
    edit_url: str = ""
    # Set when the message is to be marked read after seen_after seconds
    # open (the user's setting): the reading pane's script posts there.
    seen_url: str = ""
    seen_after: int = 0
    # Set while the worker has not sent the body yet: the pane asks here
    # for itself again, once it has (views/mailbox.py).
    wait_url: str = ""
    # The body frame's document (views/body.py), for its srcdoc.
    body_document: str = ""
    # The "More" menu and "Download all" (views/parts.py).
    zip_url: str = ""
    source_url: str = ""
    eml_url: str = ""
    print_url: str = ""


# Special folders show under these names whatever the server calls them.
SPECIAL_TITLES = {
    "inbox": _("Inbox"),
    "flagged": _("Starred"),
    "drafts": _("Drafts"),
    "sent": _("Sent"),
    "archive": _("Archive"),
    "all": _("All mail"),
    "junk": _("Junk"),
    "trash": _("Trash"),
}


def cached_reverse(name: str, *args: object) -> str:
    """Return reverse(name, args=args), remembered.

    A URL depends only on its name, its arguments and where the site is
    mounted, and reverse() costs about a tenth of a millisecond: the list
    page asks for ten of them.
    """
    return _reverse(get_script_prefix(), get_urlconf(), name, args)


@functools.lru_cache(maxsize=4096)
def _reverse(
    prefix: str, urlconf: str | None, name: str, args: tuple[object, ...]
) -> str:
    # prefix is the one reverse() reads itself: it is only part of the key.
    return reverse(name, urlconf=urlconf, args=args)


def folder_url(account_id: int, folder_id: int) -> str:
    return cached_reverse("mail_folder", account_id, folder_id)


def message_url(account_id: int, folder_id: int, uid: int) -> str:
    return reverse("mail_message", args=[account_id, folder_id, uid])


def folder_prefix(account: MailAccount) -> str | None:
    """The account's personal namespace prefix, from its state.

    Accounts from accounts_for_user() and get_account_for_user() have
    their state with them: no query.
    """
    state = getattr(account, "sync_state", None)
    return state.folder_prefix if state is not None else None


def folder_nodes(
    account_id: int, folders: Iterable[Any], *, prefix: str | None = None
) -> list[FolderNode]:
    """Return the sidebar's folder lines for Folder rows of one account.

    prefix: the account's personal namespace prefix, if already read.
    """
    infos = [
        FolderInfo(
            id=folder.id,
            name=folder.name,
            path=tuple(folder.path or ()) or (folder.display_name or folder.name,),
            special_use=folder.special_use or None,
            unread=folder.unseen,
            total=folder.total,
            selectable=folder.selectable,
            subscribed=getattr(folder, "subscribed", True),
        )
        for folder in folders
    ]
    nodes = build_tree(
        infos, top=personal_top(account_id, prefix) if len(infos) > 1 else ()
    )
    # The account's URL; a folder's URL only adds its id.
    base = cached_reverse("mail_account", account_id)
    titles = special_titles()
    for node in nodes:
        node.url = f"{base}{node.id}/"
        if node.kind != "inbox":
            node.move_url = f"{base}folders/{node.id}/rename"
        if node.depth == 0 and node.kind is not None:
            node.title = titles[node.kind]
        else:
            node.title = node.label
    return nodes


def special_titles() -> dict[str, str]:
    """Return SPECIAL_TITLES in the active language."""
    return _special_titles(get_language())


@functools.lru_cache(maxsize=32)
def _special_titles(language: str | None) -> dict[str, str]:
    # Worked out once per language (the language is the cache's key).
    return {kind: str(title) for kind, title in SPECIAL_TITLES.items()}


def sender_of(message: Any) -> str:
    return str(message.from_name or message.from_address or "")


def addresses_text(pairs: Sequence[Sequence[str]]) -> str:
    """Return "Name <address>, ..." for a JSON list of [name, address]."""
    parts = []
    for pair in pairs or ():
        name, address = [*pair, "", ""][:2]
        parts.append(f"{name} <{address}>" if name and address else name or address)
    return ", ".join(parts)


def message_rows(
    account_id: int,
    folder_id: int,
    messages: Iterable[Any],
    current_uid: int | None = None,
) -> list[MessageRow]:
    """Return list lines for Message rows of one folder."""
    # One reverse() for the folder; the row URLs only add the UID.
    base = folder_url(account_id, folder_id)
    words = labels()
    dates = ListDates()
    rows = []
    for m in messages:
        classes = "row"
        if not m.seen:
            classes += " unread"
        if m.flagged:
            classes += " flagged"
        if m.uid == current_uid:
            classes += " current"
        # Sync keeps INTERNALDATE in date when there is no Date header.
        date = m.date
        rows.append(
            MessageRow(
                uid=m.uid,
                url=f"{base}{m.uid}/",
                flag_url=f"{base}{m.uid}/flag",
                classes=classes,
                sender=sender_of(m) or words.unknown_sender,
                subject=m.subject or words.no_subject,
                preview=m.preview,
                date_iso=date.isoformat() if date else "",
                date_text=dates(date),
                seen=m.seen,
                flagged=m.flagged,
                answered=m.answered,
                forwarded=m.forwarded,
                attachments=m.has_attachments,
                labels=words,
            )
        )
    return rows


def search_rows(
    account_id: int,
    messages: Iterable[Any],
    folder_titles: dict[int, str],
    show_folder: bool,
) -> list[MessageRow]:
    """Return list lines for Message rows of any folders (search results)."""
    rows = []
    for m in messages:
        row = message_rows(account_id, m.folder_id, [m])[0]
        rows.append(
            replace(
                row,
                folder=folder_titles.get(m.folder_id, "") if show_folder else "",
                dom_id=f"m{m.folder_id}-{m.uid}",
                pick=str(m.id),
            )
        )
    return rows


def row_for(
    account_id: int, folder_id: int, message: Any, current: bool = False
) -> MessageRow:
    uid = message.uid if current else None
    return message_rows(account_id, folder_id, [message], uid)[0]


def message_view(account_id: int, folder_id: int, message: Any) -> MessageView:
    """Return the reading pane's view of a Message row (body not loaded)."""
    url = message_url(account_id, folder_id, message.uid)
    return MessageView(
        uid=message.uid,
        url=url,
        body_url=f"{url}body",
        flag_url=f"{url}flag",
        delete_url=f"{url}delete",
        allow_sender_url=f"{url}allow-sender",
        zip_url=f"{url}attachments.zip",
        source_url=f"{url}source",
        eml_url=f"{url}eml",
        print_url=f"{url}print",
        subject=message.subject,
        sender=sender_of(message),
        sender_address=message.from_address,
        to=addresses_text(message.to),
        cc=addresses_text(message.cc),
        date=message.date or message.internaldate,
        flagged=message.flagged,
        seen=message.seen,
    )


@dataclass(frozen=True)
class ConversationRow:
    """One line of the conversation list, ready to print."""

    uid: int
    url: str
    classes: str
    sender: str
    subject: str
    preview: str
    count: int
    unread: int
    date_iso: str
    date_text: str
    unread_label: str

    @property
    def element_id(self) -> str:
        return f"t{self.uid}"


def conversation_rows(
    account_id: int, folder_id: int, items: Iterable[Conversation]
) -> list[ConversationRow]:
    """Return list lines for a page of conversations of one folder."""
    base = folder_url(account_id, folder_id)
    dates = ListDates()
    unknown, no_subject = gettext("(unknown sender)"), gettext("(no subject)")
    # What Gmail shows for one's own messages: one's own name would read
    # like someone else's.
    me = gettext("me")
    unread_label = gettext("Unread:")
    lines = []
    for item in items:
        # The thread's newest message, in whatever folder; the line opens the
        # thread from this folder (item.uid is in it).
        m = item.newest
        date = m.date or m.internaldate
        lines.append(
            ConversationRow(
                uid=item.uid,
                url=f"{base}{item.uid}/thread",
                classes="row thread unread" if item.unread else "row thread",
                sender=me if item.mine else sender_of(m) or unknown,
                subject=m.subject or no_subject,
                preview=m.preview,
                count=item.count,
                unread=item.unread,
                date_iso=date.isoformat() if date else "",
                date_text=dates(date),
                unread_label=unread_label,
            )
        )
    return lines
