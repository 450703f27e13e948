"""The files of a message to send, put into it as it is written to disk.

A message recorded with uploads or with parts a forward keeps is written
to a temporary file (webmail.mime.assemble): uploads are read from their
files, forwarded parts are fetched from the IMAP server part by part
(decoded, a megabyte at a time, into temporary files of their own). The
worker then sends and APPENDs from that file, so no process holds the
message whole however large its files are.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

from webmail.engine.connections import with_session
from webmail.engine.parts import decoded, find_part
from webmail.imap import ImapSession, MessageMissing
from webmail.mime.assemble import FileSource, write_message
from webmail.mime.filenames import safe_filename
from webmail.models import OutgoingMessage, Upload
from webmail.shared.uploads import WHOLE_MESSAGE, path_of, remove, upload_dir


class FilesMissing(Exception):
    """A file of the message is gone: an upload's file, or a forwarded part."""


@dataclass
class Fetched:
    """A file fetched from the server into a temporary file."""

    filename: str
    content_type: str
    file: BinaryIO
    # The whole original, forwarded as an attachment (message/rfc822).
    whole: bool = False


def temporary(stack: contextlib.ExitStack) -> BinaryIO:
    """A file that is gone once the stack closes (and if the process dies)."""
    # Closed by the stack, not here: the file lives as long as the send.
    file = tempfile.TemporaryFile(dir=upload_dir())  # noqa: SIM115
    return stack.enter_context(file)


def _kept_open(file: BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
    file.seek(0)
    return contextlib.nullcontext(file)


def source_of(fetched: Fetched) -> FileSource:
    """A fetched file as a file to attach."""
    return FileSource(
        fetched.filename,
        fetched.content_type,
        partial(_kept_open, fetched.file),
        fetched.whole,
    )


def upload_source(upload: Upload) -> FileSource:
    """An upload as a file to attach, opened when it is written."""
    return FileSource(upload.filename, upload.content_type, partial(_opener, upload))


def fetch_sections(
    session: ImapSession, uid: int, sections: list[str], stack: contextlib.ExitStack
) -> list[Fetched]:
    """Fetch parts of a message of the open folder into temporary files.

    Raises MessageMissing when the message or one of its parts is gone.
    """
    summaries = session.fetch_summaries([uid])
    if not summaries:
        raise MessageMissing("The message is gone.")
    fetched = []
    for section in sections:
        file = temporary(stack)
        if section == WHOLE_MESSAGE:
            for chunk in session.stream_part(uid, ""):
                file.write(chunk)
            subject = summaries[0].envelope.subject or ""
            eml = safe_filename(subject, "message") + ".eml"
            fetched.append(Fetched(eml, "message/rfc822", file, whole=True))
            continue
        part = find_part(summaries[0].bodystructure, section)
        if part is None or part.is_multipart:
            raise MessageMissing("The message has no such part.")
        for chunk in decoded(session, uid, part):
            file.write(chunk)
        ctype = part.content_type
        if ctype.startswith(("message/", "multipart/")):
            # base64 is not allowed on message/*; the bytes stay the same.
            ctype = "application/octet-stream"
        fetched.append(Fetched(safe_filename(part.filename or ""), ctype, file))
    return fetched


def _fetch_parts(
    message: OutgoingMessage, stack: contextlib.ExitStack
) -> list[Fetched]:
    """Fetch the parts of the forwarded message into temporary files."""
    sections = [str(s) for s in message.forward_parts or []]
    folder = message.original_folder
    if not sections:
        return []
    if folder is None or message.original_uid is None:
        raise FilesMissing("The forwarded message's folder is gone.")
    uid, name, uidvalidity = message.original_uid, folder.name, folder.uidvalidity

    def work(session: ImapSession) -> list[Fetched]:
        info = session.open_folder(name)
        if info.uidvalidity != uidvalidity:
            raise MessageMissing("The folder changed on the server.")
        return fetch_sections(session, uid, sections, stack)

    try:
        return with_session(message.account_id, work, folder=name)
    except MessageMissing as exc:
        raise FilesMissing(str(exc)) from exc


def _opener(upload: Upload) -> contextlib.AbstractContextManager[BinaryIO]:
    try:
        return open(path_of(upload), "rb")
    except FileNotFoundError:
        raise FilesMissing(f"The file of {upload.filename} is gone.") from None


# Files of the message fetched from elsewhere (its draft's copy in Drafts).
MoreFiles = Callable[[OutgoingMessage, contextlib.ExitStack], list[FileSource]]


@contextlib.contextmanager
def message_file(
    message: OutgoingMessage, more: MoreFiles | None = None
) -> Iterator[BinaryIO]:
    """The whole message in a temporary file, at its start.

    Raises FilesMissing, or the ImapError that fetching a forwarded part met.
    """
    with contextlib.ExitStack() as stack:
        out = temporary(stack)
        sources = [source_of(f) for f in _fetch_parts(message, stack)]
        if more is not None:
            sources += more(message, stack)
        for upload in message.uploads.order_by("id"):
            if not upload.complete:
                raise FilesMissing(f"{upload.filename} was not uploaded whole.")
            sources.append(upload_source(upload))
        write_message(bytes(message.raw), sources, out)
        out.flush()
        out.seek(0)
        yield out


def forget_uploads(message: OutgoingMessage) -> None:
    """Remove the uploads of a message once it is sent."""
    remove(list(message.uploads.all()))
