"""Applying the outbox's folder operations: create, rename, delete, subscribe.

Called by webmail.engine.outbox for operations of the kinds in
webmail.models.FOLDER_KINDS; the page side (webmail.mail.folders) has
already changed the cache. Each step is safe to repeat: what a killed
worker did before its OK was recorded is found done on the server (the
folder is there, or gone, or under its new name) and not done twice.
Afterwards the worker lists the folders again (webmail.engine.tasks), so
the cache ends as the server has it, also when the server refused.
"""

from __future__ import annotations

from webmail.imap import CommandFailed, FolderMissing, ImapSession
from webmail.models import OperationKind, PendingOperation


def apply_folder_operation(session: ImapSession, op: PendingOperation) -> None:
    """Apply one folder operation on the server; ImapError if refused."""
    session.unselect()
    payload = op.payload
    if op.kind == OperationKind.CREATE_FOLDER:
        _create(session, payload["name"])
    elif op.kind == OperationKind.RENAME_FOLDER:
        _rename(session, payload["old"], payload["new"])
    elif op.kind == OperationKind.DELETE_FOLDER:
        for name in payload["names"]:
            _delete(session, name)
    elif op.kind == OperationKind.SUBSCRIBE:
        if payload["name"] in _listed(session):
            _subscribe(session, payload["name"], bool(payload["subscribed"]))
    else:
        raise ValueError(f"Not a folder operation: {op.kind!r}")


def _listed(session: ImapSession) -> dict[str, bool]:
    """Return {server name: subscribed} of every folder."""
    return {f.name: f.subscribed for f in session.list_folders(with_status=False)}


def _create(session: ImapSession, name: str) -> None:
    try:
        session.create_folder(name)
    except CommandFailed:
        if name not in _listed(session):
            raise
    _subscribe(session, name, True)


def _rename(session: ImapSession, old: str, new: str) -> None:
    folders = session.list_folders(with_status=False)
    listed = {f.name: f.subscribed for f in folders}
    if old not in listed:
        if new in listed:
            return  # renamed by an earlier attempt
        raise FolderMissing(f'The folder "{old}" no longer exists on the server.')
    if new in listed:
        raise CommandFailed(f'A folder "{new}" exists already on the server.')
    delimiter = next((f.delimiter for f in folders if f.name == old), None) or "/"
    session.rename_folder(old, new)
    # Subscriptions are kept by name: they follow the folder and its
    # subfolders to their new names.
    prefix = old + delimiter
    for name, subscribed in listed.items():
        if subscribed and (name == old or name.startswith(prefix)):
            _subscribe(session, name, False)
            _subscribe(session, new + name[len(old) :], True)


def _delete(session: ImapSession, name: str) -> None:
    listed = _listed(session)
    if name in listed:
        session.delete_folder(name)
    if listed.get(name):
        _subscribe(session, name, False)


def _subscribe(session: ImapSession, name: str, subscribed: bool) -> None:
    try:
        session.subscribe(name, subscribed)
    except CommandFailed:
        # Some servers refuse to unsubscribe what is not subscribed (or
        # no longer exists): the wanted state holds either way.
        if subscribed:
            raise
