"""What the reading pane lists as attached: files, attached messages, invitations.

Each file is named by its kind in words ("PDF", "Spreadsheet"), its MIME
type kept for a tooltip: "application/vnd.openxmlformats-officedocument
.spreadsheetml.sheet" tells a reader nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from webmail.mail.parts import previewable
from webmail.views.present import addresses_text

# Kinds by MIME type; anything not here is looked up by its file name's
# extension (a .xlsx sent as application/octet-stream is still a
# spreadsheet), then by the type's first half (image/*, audio/*).
_PDF = _("PDF")
_IMAGE = _("Image")
_CALENDAR = _("Calendar invitation")
_SPREADSHEET = _("Spreadsheet")
_WORD = _("Word document")
_TEXT_DOCUMENT = _("Text document")
_PRESENTATION = _("Presentation")
_ARCHIVE = pgettext_lazy("file kind", "Archive")
_TEXT = _("Text")
_WEB_PAGE = _("Web page")
_MESSAGE = _("Email message")
_CONTACT = _("Contact card")
_SIGNATURE = _("Signature")

KINDS_BY_TYPE = {
    "application/pdf": _PDF,
    "text/calendar": _CALENDAR,
    "application/ics": _CALENDAR,
    "application/vnd.ms-excel": _SPREADSHEET,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _SPREADSHEET,
    "application/vnd.oasis.opendocument.spreadsheet": _SPREADSHEET,
    "text/csv": _SPREADSHEET,
    "application/msword": _WORD,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _WORD,
    "application/rtf": _TEXT_DOCUMENT,
    "application/vnd.oasis.opendocument.text": _TEXT_DOCUMENT,
    "application/vnd.ms-powerpoint": _PRESENTATION,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        _PRESENTATION
    ),
    "application/vnd.oasis.opendocument.presentation": _PRESENTATION,
    "application/zip": _ARCHIVE,
    "application/x-zip-compressed": _ARCHIVE,
    "application/x-7z-compressed": _ARCHIVE,
    "application/x-rar-compressed": _ARCHIVE,
    "application/vnd.rar": _ARCHIVE,
    "application/gzip": _ARCHIVE,
    "application/x-gzip": _ARCHIVE,
    "application/x-tar": _ARCHIVE,
    "text/plain": _TEXT,
    "text/html": _WEB_PAGE,
    "message/rfc822": _MESSAGE,
    "message/global": _MESSAGE,
    "text/vcard": _CONTACT,
    "text/x-vcard": _CONTACT,
    "application/pgp-signature": _SIGNATURE,
    "application/pkcs7-signature": _SIGNATURE,
    "application/x-pkcs7-signature": _SIGNATURE,
}
KINDS_BY_EXTENSION = {
    "pdf": _PDF,
    "ics": _CALENDAR,
    "xls": _SPREADSHEET,
    "xlsx": _SPREADSHEET,
    "ods": _SPREADSHEET,
    "csv": _SPREADSHEET,
    "doc": _WORD,
    "docx": _WORD,
    "odt": _TEXT_DOCUMENT,
    "rtf": _TEXT_DOCUMENT,
    "ppt": _PRESENTATION,
    "pptx": _PRESENTATION,
    "odp": _PRESENTATION,
    "zip": _ARCHIVE,
    "7z": _ARCHIVE,
    "rar": _ARCHIVE,
    "gz": _ARCHIVE,
    "tgz": _ARCHIVE,
    "tar": _ARCHIVE,
    "jpg": _IMAGE,
    "jpeg": _IMAGE,
    "png": _IMAGE,
    "gif": _IMAGE,
    "webp": _IMAGE,
    "heic": _IMAGE,
    "txt": _TEXT,
    "eml": _MESSAGE,
    "vcf": _CONTACT,
}
KINDS_BY_FAMILY = {"image": _IMAGE, "audio": _("Audio"), "video": _("Video")}


def file_kind(content_type: str, filename: str) -> str:
    """Return what a file is, in words of the active language."""
    content_type = content_type.lower()
    kind = KINDS_BY_TYPE.get(content_type)
    if kind is None:
        extension = filename.rpartition(".")[2].lower() if "." in filename else ""
        kind = KINDS_BY_EXTENSION.get(extension)
    if kind is None:
        kind = KINDS_BY_FAMILY.get(content_type.partition("/")[0], _("File"))
    return str(kind)


@dataclass(frozen=True)
class Attachment:
    """An attachment line: download link, and a preview link if it can show.

    The line of an attached message (.eml) lists the files inside it, each
    with the name of the message it is in (inside).
    """

    filename: str
    size: int
    url: str = ""
    content_type: str = ""
    part_id: str = ""
    files: tuple[Attachment, ...] = ()
    inside: str = ""

    @property
    def preview_url(self) -> str:
        return (
            f"{self.url}?inline=1"
            if self.url and previewable(self.content_type, self.filename)
            else ""
        )

    @property
    def kind(self) -> str:
        return file_kind(self.content_type, self.filename)


@dataclass(frozen=True)
class ForwardedView:
    """A message attached to the one shown, read below its text."""

    part_id: str
    subject: str
    sender: str
    to: str
    cc: str
    date: datetime | None
    # Sanitized in the worker (webmail/engine/bodies.py).
    html: str
    attachments: list[Attachment]
    forwarded: list[ForwardedView]


def forwarded_views(
    message_url: str, items: Iterable[dict[str, Any]]
) -> list[ForwardedView]:
    """Return the attached messages of a body (BodyState.forwarded) to show."""
    return [
        ForwardedView(
            part_id=str(item.get("part_id") or ""),
            subject=str(item.get("subject") or ""),
            sender=addresses_text(item.get("from") or ()),
            to=addresses_text(item.get("to") or ()),
            cc=addresses_text(item.get("cc") or ()),
            date=_iso_date(item.get("date")),
            html=str(item.get("html") or ""),
            attachments=[
                Attachment(
                    str(part["filename"]),
                    int(part["size"]),
                    f"{message_url}part/{part['part_id']}",
                    str(part["content_type"]),
                    str(part["part_id"]),
                )
                for part in item.get("attachments") or ()
            ],
            forwarded=forwarded_views(message_url, item.get("forwarded") or ()),
        )
        for item in items
    ]


def with_attached_files(
    attachments: Sequence[Attachment], forwarded: Sequence[ForwardedView]
) -> list[Attachment]:
    """Give the line of each attached message the files inside it.

    They download from the reading pane's list: the body frame, sandboxed,
    may not start a download.
    """
    if not forwarded:
        return list(attachments)
    by_part = {item.part_id: item for item in forwarded}
    return [
        replace(a, files=_files_in(a.filename, by_part[a.part_id]))
        if a.part_id in by_part
        else a
        for a in attachments
    ]


def _files_in(name: str, item: ForwardedView) -> tuple[Attachment, ...]:
    files: list[Attachment] = []
    for attachment in with_attached_files(item.attachments, item.forwarded):
        files.append(replace(attachment, inside=name, files=()))
        files.extend(attachment.files)
    return tuple(files)


def _iso_date(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Invitation:
    """A calendar invitation's facts, shown above the message's text."""

    summary: str
    when: str
    location: str
    organizer: str
    cancelled: bool
    # The file could not be read: the reader is told, and it stays listed
    # among the attachments.
    broken: bool


def invitation_of(facts: dict[str, Any] | None) -> Invitation | None:
    """Return the reading pane's invitation for a body's "invitation" facts."""
    if not facts:
        return None
    start, end = _moment(facts.get("start")), _moment(facts.get("end"))
    broken = bool(facts.get("broken")) or start is None
    name, address = facts.get("organizer_name", ""), facts.get("organizer_address", "")
    return Invitation(
        summary=str(facts.get("summary") or ""),
        when="" if start is None else _when(start, end),
        location=str(facts.get("location") or ""),
        organizer=addresses_text([[str(name or ""), str(address or "")]]),
        cancelled=str(facts.get("method") or "").upper() == "CANCEL",
        broken=broken,
    )


def _moment(value: object) -> date | datetime | None:
    text = str(value or "")
    try:
        if len(text) == len("2026-12-10"):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


_DASH = "\N{EN DASH}"


def _when(start: date | datetime, end: date | datetime | None) -> str:
    """Return "10 December 2026, 10:00 to 11:00" in the user's language and zone."""
    if not isinstance(start, datetime):
        # A whole day; DTEND is the day after the last one.
        last = end - timedelta(days=1) if isinstance(end, date) else None
        text = date_format(start, "DATE_FORMAT")
        if last is not None and not isinstance(last, datetime) and last > start:
            text = f"{text} {_DASH} {date_format(last, 'DATE_FORMAT')}"
        return text
    start = _local(start)
    text = date_format(start, "DATETIME_FORMAT")
    if isinstance(end, datetime):
        end = _local(end)
        if end.date() == start.date():
            return f"{text}{_DASH}{time_format(end, 'TIME_FORMAT')}"
        return f"{text} {_DASH} {date_format(end, 'DATETIME_FORMAT')}"
    return text


def _local(moment: datetime) -> datetime:
    # A "floating" time (no zone) is the same clock time wherever one is.
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment
