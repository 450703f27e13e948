"""Folder listing and management on both server variants."""

from __future__ import annotations

import pytest

from tests.imap import message, open_session
from webmail.imap import CommandFailed, FolderMissing, folder_name_from_parts


@pytest.fixture(params=["full", "reduced"])
def user(request):
    return request.getfixturevalue(
        "imap_user" if request.param == "full" else "imap_user_reduced"
    )


def test_listing_shows_special_use_nesting_and_japanese_names(user) -> None:
    delimiter = user.server.delimiter
    session = open_session(user)
    try:
        japanese = folder_name_from_parts(["Projects", "日本語"], delimiter)
        session.create_folder(folder_name_from_parts(["Projects"], delimiter))
        session.create_folder(japanese)
        session.subscribe(japanese)
        session.append("INBOX", message("one"))
        session.append("INBOX", message("two"), ["\\Seen"])
        folders = {f.path: f for f in session.list_folders()}
    finally:
        session.logout()

    assert japanese.isascii() and japanese != "Projects" + delimiter + "日本語"
    nested = folders[("Projects", "日本語")]
    assert nested.name == japanese
    assert nested.display_name == "日本語"
    assert nested.parent_parts == ("Projects",)
    assert nested.delimiter == delimiter
    assert nested.subscribed
    assert not folders[("Projects",)].subscribed
    assert folders[("Sent",)].special_use == "\\Sent"
    assert folders[("Trash",)].special_use == "\\Trash"
    assert folders[("INBOX",)].special_use is None
    inbox = folders[("INBOX",)]
    assert (inbox.messages, inbox.unseen) == (2, 1)
    assert inbox.uidnext == 3 and inbox.uidvalidity
    if user.server.variant == "full":
        assert inbox.highestmodseq is not None
    else:
        assert inbox.highestmodseq is None


def test_without_status_no_counts_are_given(user) -> None:
    session = open_session(user)
    try:
        inbox = next(f for f in session.list_folders(with_status=False))
    finally:
        session.logout()
    assert inbox.messages is None and inbox.uidnext is None


def test_rename_and_delete_a_folder(user) -> None:
    delimiter = user.server.delimiter
    session = open_session(user)
    try:
        session.create_folder("Old")
        session.rename_folder("Old", folder_name_from_parts(["Neu", "Ä"], delimiter))
        paths = {f.path for f in session.list_folders(with_status=False)}
        assert ("Neu", "Ä") in paths and ("Old",) not in paths
        session.delete_folder(folder_name_from_parts(["Neu", "Ä"], delimiter))
        paths = {f.path for f in session.list_folders(with_status=False)}
        assert ("Neu", "Ä") not in paths
        with pytest.raises(FolderMissing, match="Nowhere"):
            session.select("Nowhere")
        with pytest.raises(CommandFailed):
            session.create_folder("INBOX")
        # A refused command leaves the connection usable.
        assert session.usable
        assert session.select("INBOX").exists == 0
    finally:
        session.logout()


def test_a_kept_open_folder_follows_another_devices_changes(user) -> None:
    """open_folder() and current_state() reuse the selection, yet stay right."""
    session = open_session(user)
    other = open_session(user)
    try:
        session.create_folder("Kept")
        session.append("Kept", message("one"))
        first = session.open_folder("Kept")
        assert first.exists == 1 and not first.readonly

        other.append("Kept", message("two"))
        again = session.open_folder("Kept")
        assert again.uidvalidity == first.uidvalidity
        state = session.current_state("Kept")
        assert state is not None
        assert state.exists == 2 and state.uidnext == (first.uidnext or 0) + 1
        assert len(session.search_uids("ALL")) == 2

        # Deleted and made again by the other device: the old view is
        # dropped and the new folder (a new UIDVALIDITY) is selected.
        other.delete_folder("Kept")
        other.create_folder("Kept")
        other.append("Kept", message("three"))
        assert session.current_state("Kept") is None
        fresh = session.open_folder("Kept")
        assert fresh.uidvalidity != first.uidvalidity and fresh.exists == 1
    finally:
        session.logout()
        other.logout()


def test_the_personal_namespace_prefix_is_read(
    imap_user, imap_user_reduced, imap_user_prefixed
) -> None:
    prefixes = []
    for user in (imap_user, imap_user_reduced, imap_user_prefixed):
        session = open_session(user)
        try:
            prefixes.append(session.personal_prefix())
        finally:
            session.logout()
    assert prefixes == ["", "", "INBOX."]
