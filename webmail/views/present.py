"""What the mailbox templates show, built from the cache rows.

The templates read these plain objects rather than the models, so that the
list template stays lean and the views decide every URL in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webmail.templatetags.mail import mail_date
from webmail.views.tree import FolderInfo, FolderNode, build_tree


@dataclass(frozen=True)
class Labels:
    """The words of a list row, translated once per list rather than per row."""

    unknown_sender: str
    no_subject: str
    unread: str
    attachments: str
    answered: str
    forwarded: str
    star: str
    unstar: str
    starred: str


def labels() -> Labels:
    return Labels(
        unknown_sender=gettext("(unknown sender)"),
        no_subject=gettext("(no subject)"),
        unread=gettext("Unread:"),
        attachments=gettext("Has attachments"),
        answered=gettext("Answered"),
        forwarded=gettext("Forwarded"),
        star=gettext("Star"),
        unstar=gettext("Unstar"),
        starred=gettext("Starred"),
    )


@dataclass(frozen=True)
class MessageRow:
    """One line of the message list, with its text ready to print.

    The list is the hottest template: everything a row shows is worked out
    here, so that the template only prints values.
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


@dataclass(frozen=True)
class Attachment:
    filename: str
    size: int
    url: str = ""


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
    has_remote: bool = False
    remote_allowed: bool = False
    error: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    reply_url: str = ""
    reply_all_url: str = ""
    forward_url: str = ""


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


def folder_url(account_id: int, folder_id: int) -> str:
    return reverse("mail_folder", args=[account_id, folder_id])


def message_url(account_id: int, folder_id: int, uid: int) -> str:
    return reverse("mail_message", args=[account_id, folder_id, uid])


def folder_nodes(account_id: int, folders: Iterable[Any]) -> list[FolderNode]:
    """Return the sidebar's folder lines for Folder rows of one account."""
    infos = [
        FolderInfo(
            id=folder.id,
            name=folder.name,
            path=tuple(folder.path or ()) or (folder.display_name or folder.name,),
            special_use=folder.special_use or None,
            unread=folder.unseen,
            total=folder.total,
            selectable=folder.selectable,
        )
        for folder in folders
    ]
    nodes = build_tree(infos)
    for node in nodes:
        node.url = folder_url(account_id, node.id)
        if node.depth == 0 and node.kind is not None:
            node.title = str(SPECIAL_TITLES[node.kind])
        else:
            node.title = node.label
    return nodes


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
    rows = []
    for m in messages:
        classes = "row"
        if not m.seen:
            classes += " unread"
        if m.flagged:
            classes += " flagged"
        if m.uid == current_uid:
            classes += " current"
        date = m.date or m.internaldate
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
                date_text=mail_date(date),
                seen=m.seen,
                flagged=m.flagged,
                answered=m.answered,
                forwarded=m.forwarded,
                attachments=m.has_attachments,
                labels=words,
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
        subject=message.subject,
        sender=sender_of(message),
        sender_address=message.from_address,
        to=addresses_text(message.to),
        cc=addresses_text(message.cc),
        date=message.date or message.internaldate,
        flagged=message.flagged,
    )
