"""What the mailbox templates show, built from the cache rows.

The templates read these plain objects rather than the models, so that the
list template stays lean and the views decide every URL in one place.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webmail.templatetags.mail import ListDates
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
    select: str


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
        select=gettext("Select:"),
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
    def element_id(self) -> str:
        return self.dom_id or f"m{self.uid}"

    @property
    def pick_name(self) -> str:
        # Not "id": form controls named so would hide the form's own id.
        return "message" if self.pick else "uid"

    @property
    def pick_value(self) -> str:
        return self.pick or str(self.uid)

    @property
    def star_vals(self) -> str:
        """The star button's form values: the flag to set, and where the row is."""
        values = {"flagged": "0" if self.flagged else "1"}
        if self.dom_id:
            values["in"] = "all" if self.folder else "one"
        return json.dumps(values)


@dataclass(frozen=True)
class Attachment:
    """An attachment line: download link, and a preview link if it can show."""

    filename: str
    size: int
    url: str = ""
    content_type: str = ""

    @property
    def preview_url(self) -> str:
        from webmail.parts import previewable

        return (
            f"{self.url}?inline=1"
            if self.url and previewable(self.content_type, self.filename)
            else ""
        )


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
    # Set when the message is to be marked read after seen_after seconds
    # open (the user's setting): the reading pane's script posts there.
    seen_url: str = ""
    seen_after: int = 0
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
    )
