"""Special folders a server does not mark are found by their usual names."""

from __future__ import annotations

from webmail.engine.folderlist import guess_special_use
from webmail.imap.types import Folder


def _listed(name: str, *parents: str, special_use: str | None = None) -> Folder:
    server = ".".join((*parents, name))
    return Folder(server, name, ".", parents, special_use, (), True)


def test_japanese_and_english_names_under_the_inbox_prefix():
    listed = [
        _listed("INBOX"),
        _listed("削除済みアイテム", "INBOX"),
        _listed("送信済みアイテム", "INBOX"),
        _listed("Deleted Items", "INBOX", "Projects"),  # too deep: a user's own
        _listed("Junk E-mail", "INBOX"),
    ]
    assert guess_special_use(listed) == {
        "INBOX.削除済みアイテム": "\\Trash",
        "INBOX.送信済みアイテム": "\\Sent",
        "INBOX.Junk E-mail": "\\Junk",
    }


def test_a_folder_the_server_marks_wins_over_names():
    listed = [
        _listed("Bin", special_use="\\Trash"),
        _listed("Trash"),
        _listed("Deleted Messages"),
    ]
    assert guess_special_use(listed) == {}
