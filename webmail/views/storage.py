"""The storage page: how full the mailbox is, where the space goes, freeing it.

Read from the cache (webmail.mail.storage); a delete goes through the
outbox like any other, and one that destroys mail (in Trash or Junk) asks
first, saying how many messages it will destroy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from webmail.mail import ids, reading, storage
from webmail.views import present
from webmail.views.dates import ListDates
from webmail.views.layout import account_or_404

if TYPE_CHECKING:
    from webmail.models import Folder, Message


@dataclass(frozen=True)
class StorageRow:
    """One message of the page's lists."""

    id: int
    folder: str
    url: str
    sender: str
    subject: str
    # As the message list shows it ("09:30", "November 28").
    date: str
    size: int


@dataclass(frozen=True)
class FolderLine:
    """One folder of the page's table."""

    title: str
    url: str
    messages: int
    size: int
    # Older messages are still being loaded into the cache.
    partial: bool


def _rows(account_id: int, found: list[Message], titles: dict[int, str]) -> list[Any]:
    dates = ListDates()
    return [
        StorageRow(
            id=m.id,
            folder=titles.get(m.folder_id, ""),
            url=f"{present.folder_url(account_id, m.folder_id)}{m.uid}/",
            sender=present.sender_of(m) or _("(unknown sender)"),
            subject=m.subject or _("(no subject)"),
            date=dates(m.date),
            size=m.size,
        )
        for m in found
    ]


def storage_context(account_id: int, folders: list[Folder]) -> dict[str, Any]:
    """Return the page's folder table and its two lists of messages."""
    titles = {node.id: node.title for node in present.folder_nodes(account_id, folders)}
    lines = [
        FolderLine(
            title=titles.get(row.folder.id, row.folder.display_name),
            url=present.folder_url(account_id, row.folder.id),
            # Until the cache holds it all, the server's own count.
            messages=row.messages
            if row.folder.complete
            else max(row.messages, row.folder.total),
            size=row.size,
            partial=not row.folder.complete,
        )
        for row in storage.folder_sizes(folders)
    ]
    largest = storage.largest_messages(folders)
    attached = storage.largest_messages(folders, attachments=True)
    return {
        "folder_lines": lines,
        "cached_size": sum(line.size for line in lines),
        "lists": [
            {
                "id": "largest",
                "title": _("Largest messages"),
                "rows": _rows(account_id, largest, titles),
                "empty": _("No messages."),
            },
            {
                "id": "attachments",
                "title": _("Largest messages with attachments"),
                "rows": _rows(account_id, attached, titles),
                "empty": _("No messages with attachments."),
            },
        ],
    }


@require_GET
@login_required
def storage_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Show the quota, the folders by size and the largest messages."""
    account = account_or_404(request, account_id)
    folders = reading.folders(account)
    context = storage_context(account.id, folders)
    context.update(
        {
            "account": account,
            "quota": storage.quota_of(account),
            "loading": storage.load_missing(account, folders),
        }
    )
    return render(request, "webmail/storage.html", context)


def _done(trashed: int, deleted: int) -> str:
    said = []
    if trashed:
        said.append(
            ngettext(
                "%(count)d message moved to Trash.",
                "%(count)d messages moved to Trash.",
                trashed,
            )
            % {"count": trashed}
        )
    if deleted:
        said.append(
            ngettext(
                "%(count)d message deleted for good.",
                "%(count)d messages deleted for good.",
                deleted,
            )
            % {"count": deleted}
        )
    return " ".join(said) or _("No messages needed changing.")


@require_POST
@login_required
def storage_delete_view(request: HttpRequest, account_id: int) -> HttpResponse:
    """Delete the selected messages; ask first for those it would destroy."""
    account = account_or_404(request, account_id)
    selected = ids.parse_ids(request.POST.getlist("message"))
    if not selected:
        messages.error(request, _("Select some messages first."))
        return redirect("mail_storage", account.id)
    picked = storage.selection(account, selected)
    if picked.for_good_count and request.POST.get("confirm") != "1":
        context = {
            "account": account,
            "selected": selected,
            "for_good": picked.for_good_count,
            "to_trash": picked.trash_count,
        }
        return render(request, "webmail/storage_confirm.html", context)
    trashed, deleted = storage.delete(account, picked)
    messages.success(request, _done(trashed, deleted))
    return redirect("mail_storage", account.id)
