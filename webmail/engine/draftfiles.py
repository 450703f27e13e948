"""The files of drafts: written into each copy stored in Drafts, sent from it.

A draft's form names its files by key (Draft.fields["files"]): "u<id>"
for a file uploaded on a compose page (webmail/mail/uploads.py), "f<part>"
for a part of the forwarded message the form keeps (fetched from that
message, Draft.fields["original"], until a copy holds it), or a key of
Draft.files, which lists the files of the draft's copy in Drafts with
their part numbers. Each stored copy carries the files the form names, in
its order, as parts 2, 3, ... of a multipart/mixed (webmail.mime.assemble):
an upload from its file while that is on disk, any other file fetched from
the copy about to be replaced. So a draft opened on another device, or
after its uploads were cleaned away, still has its files, and the server's
copy is where they live. Draft.files then lists the new copy's files.

Sending a draft's kept files (OutgoingMessage.draft_files) fetches them
from its copy the same way. One thread handles a given draft at a time
(draft_lock), so a save cannot replace the copy while a send reads it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from webmail.engine.attachments import (
    FilesMissing,
    fetch_sections,
    source_of,
    temporary,
    upload_source,
)
from webmail.engine.connections import with_session
from webmail.imap import FolderMissing, ImapSession, MessageMissing
from webmail.mime.assemble import FileSource, write_message
from webmail.models import Draft, Folder, OutgoingMessage, Upload
from webmail.shared.uploads import path_of

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextlib.contextmanager
def draft_lock(draft_id: int) -> Iterator[None]:
    """Hold the draft while its copy is stored, replaced or read."""
    with _locks_guard:
        lock = _locks.setdefault(draft_id, threading.Lock())
    with lock:
        yield


class Missing(FilesMissing):
    """A file of the draft a message was written in is gone from its copy."""


@dataclass(frozen=True)
class Written:
    """A draft's copy written to a temporary file, and the files it holds."""

    file: BinaryIO
    files: list[dict[str, Any]]


def keys_of(row: Draft) -> list[str]:
    """The keys of the files the draft's form holds, each once."""
    return list(dict.fromkeys(str(row.fields.get("files", "")).split()))


def _upload(row: Draft, key: str) -> Upload | None:
    if not (key.startswith("u") and key[1:].isdigit()):
        return None
    upload = Upload.objects.filter(account_id=row.account_id, id=int(key[1:])).first()
    if upload is None or not upload.complete or not path_of(upload).exists():
        return None
    return upload


def _from_original(
    session: ImapSession, row: Draft, keys: list[str], stack: contextlib.ExitStack
) -> dict[str, tuple[FileSource, int]]:
    """The forwarded message's parts these "f" keys name; none once it is gone.

    Leaves that message's folder open in the session.
    """
    folder_id, _, rest = str(row.fields.get("original", "")).partition(":")
    uid, _, flag = rest.partition(":")
    if not (keys and folder_id.isdigit() and uid.isdigit() and flag == "$Forwarded"):
        return {}
    folder = Folder.objects.filter(id=int(folder_id), account_id=row.account_id).first()
    if folder is None:
        return {}
    try:
        if session.open_folder(folder.name).uidvalidity != folder.uidvalidity:
            return {}
        fetched = fetch_sections(session, int(uid), [k[1:] for k in keys], stack)
    except (FolderMissing, MessageMissing):
        return {}
    return {
        key: (source_of(item), item.file.seek(0, 2))
        for key, item in zip(keys, fetched, strict=True)
    }


def _sources(
    session: ImapSession,
    row: Draft,
    copy_uid: int | None,
    keys: list[str],
    stack: contextlib.ExitStack,
) -> tuple[list[tuple[str, FileSource, int]], list[str]]:
    """The files of these keys, and the keys found nowhere.

    The session has the draft's folder open; copy_uid is the draft's copy
    there (None: none to fetch from). It may be left on another folder.
    """
    listed = {str(f.get("key")): f for f in row.files or []}
    found: dict[str, tuple[FileSource, int]] = {}
    from_copy = []
    for key in keys:
        upload = _upload(row, key)
        if upload is not None:
            found[key] = (upload_source(upload), upload.size)
        elif key in listed and copy_uid is not None:
            from_copy.append(key)
    if from_copy and copy_uid is not None:
        sections = [str(listed[key]["section"]) for key in from_copy]
        fetched = fetch_sections(session, copy_uid, sections, stack)
        for key, item in zip(from_copy, fetched, strict=True):
            size = item.file.seek(0, 2)
            found[key] = (source_of(item), size)
    forwarded = [k for k in keys if k not in found and k.startswith("f")]
    found.update(_from_original(session, row, forwarded, stack))
    written = [(key, *found[key]) for key in keys if key in found]
    return written, [key for key in keys if key not in found]


def write_copy(
    session: ImapSession,
    row: Draft,
    copy_uid: int | None,
    raw: bytes,
    stack: contextlib.ExitStack,
) -> Written:
    """The draft's copy (raw, built without files) with its files, in a file.

    copy_uid: the copy it replaces, in the session's open folder. Files of
    a copy that is gone (another program replaced it) are left out: a
    draft keeps what it can.
    """
    keys = keys_of(row)
    try:
        sources, _ = _sources(session, row, copy_uid, keys, stack)
    except MessageMissing:
        sources, _ = _sources(session, row, None, keys, stack)
    out = temporary(stack)
    write_message(raw, [source for _, source, _ in sources], out)
    out.flush()
    out.seek(0)
    files = [
        {
            "key": key,
            "section": str(number),
            "filename": source.filename,
            "content_type": source.content_type,
            "size": size,
        }
        for number, (key, source, size) in enumerate(sources, start=2)
    ]
    return Written(out, files)


def for_send(message: OutgoingMessage, stack: contextlib.ExitStack) -> list[FileSource]:
    """The files of the draft a message was written in that the form kept.

    Raises FilesMissing when one of them is gone.
    """
    keys = [str(key) for key in message.draft_files or []]
    if not keys:
        return []
    draft = Draft.objects.filter(sent_with=message).only("id").first()
    if draft is None:
        raise Missing("The draft of the message is gone.")
    with draft_lock(draft.id):
        row = Draft.objects.select_related("folder").get(id=draft.id)
        folder = row.folder
        if folder is None:
            raise Missing("The draft's copy is gone.")
        name, uidvalidity = folder.name, folder.uidvalidity

        def work(session: ImapSession) -> list[tuple[str, FileSource, int]]:
            info = session.open_folder(name)
            if info.uidvalidity != uidvalidity:
                raise MessageMissing("The folder changed on the server.")
            sources, missing = _sources(session, row, row.uid, keys, stack)
            if missing:
                raise MessageMissing("A file of the draft is gone.")
            return sources

        try:
            sources = with_session(message.account_id, work, folder=name)
        except MessageMissing as exc:
            raise Missing(str(exc)) from exc
    return [source for _, source, _ in sources]
