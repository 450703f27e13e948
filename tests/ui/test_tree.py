"""The sidebar's folder order and nesting."""

from __future__ import annotations

from webmail.views.tree import FolderInfo, build_tree


def folder(id: int, name: str, special_use: str | None = None, sep: str = "/"):
    return FolderInfo(id, name, tuple(name.split(sep)), special_use)


def lines(infos):
    return [("  " * node.depth) + node.label for node in build_tree(infos)]


def test_special_folders_come_first_then_the_rest_by_name():
    infos = [
        folder(1, "zeta"),
        folder(2, "Trash", "\\Trash"),
        folder(3, "Alpha"),
        folder(4, "Sent Messages", "\\Sent"),
        folder(5, "INBOX"),
        folder(6, "Drafts", "\\Drafts"),
        folder(7, "Junk", "\\Junk"),
    ]
    assert lines(infos) == [
        "INBOX",
        "Drafts",
        "Sent Messages",
        "Junk",
        "Trash",
        "Alpha",
        "zeta",
    ]


def test_folders_nest_under_their_parents_at_any_depth():
    infos = [
        folder(1, "Work.Clients.Acme", sep="."),
        folder(2, "Work", sep="."),
        folder(3, "Work.Clients", sep="."),
        folder(4, "INBOX", sep="."),
        folder(5, "INBOX.Receipts", sep="."),
        folder(6, "Work.Admin", sep="."),
    ]
    assert lines(infos) == [
        "INBOX",
        "  Receipts",
        "Work",
        "  Admin",
        "  Clients",
        "    Acme",
    ]


def test_a_folder_whose_parent_is_missing_shows_under_the_nearest_ancestor():
    infos = [folder(1, "A"), folder(2, "A/B/C"), folder(3, "X/Y")]
    assert lines(infos) == ["A", "  C", "Y"]


def test_special_use_is_read_with_or_without_the_backslash():
    kinds = [
        n.kind
        for n in build_tree([folder(1, "Bin", "trash"), folder(2, "S", "\\SENT")])
    ]
    assert kinds == ["sent", "trash"]
