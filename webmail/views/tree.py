"""The folder tree as the sidebar shows it: special folders first, then nested.

Pure functions over plain values, so the ordering rules are tested without
a database or a server.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Special-use folders (RFC 6154) in the order the sidebar lists them. The
# values double as icon names in the templates.
SPECIAL_ORDER = (
    "inbox",
    "flagged",
    "drafts",
    "sent",
    "archive",
    "all",
    "junk",
    "trash",
)


def special_kind(name: str, special_use: str | None) -> str | None:
    """Return the sidebar kind of a folder ("inbox", "sent", ...) or None."""
    if name.upper() == "INBOX":
        return "inbox"
    if not special_use:
        return None
    # "\\Sent" as the server writes it, or "sent".
    kind = special_use.strip().lstrip("\\").lower()
    return kind if kind in SPECIAL_ORDER and kind != "inbox" else None


@dataclass(frozen=True)
class FolderInfo:
    """What the sidebar needs to know about one folder."""

    id: int
    name: str
    # The decoded names from the top level down (split at the delimiter).
    path: tuple[str, ...]
    special_use: str | None = None
    unread: int = 0
    total: int = 0
    selectable: bool = True
    # The sidebar lists subscribed folders; the folder page lists them all.
    subscribed: bool = True


@dataclass
class FolderNode:
    """One line of the sidebar: a folder at a depth, with its label and kind."""

    folder: FolderInfo
    label: str
    kind: str | None
    depth: int = 0
    url: str = ""
    # Where the sidebar posts a move (drag and drop); "" for INBOX.
    move_url: str = ""
    # The name shown: a special folder's name in the user's language.
    title: str = ""
    children: list[FolderNode] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.folder.id

    @property
    def unread(self) -> int:
        return self.folder.unread


def _label(info: FolderInfo) -> str:
    return info.path[-1] if info.path and info.path[-1] else info.name


def _root_key(node: FolderNode) -> tuple[int, str]:
    # Special folders first, also under INBOX (the "INBOX." layout).
    if node.kind is not None:
        return (SPECIAL_ORDER.index(node.kind), "")
    return (len(SPECIAL_ORDER), node.label.casefold())


def build_tree(
    folders: Iterable[FolderInfo], top: tuple[str, ...] = ()
) -> list[FolderNode]:
    """Return the sidebar's lines in order, each with its depth.

    A folder nests under the folder whose path its own path extends (the
    server's name split at its delimiter); a folder whose parent is missing
    (not subscribed, say) shows at the top level. Special-use folders come first in a
    fixed order, then the others by name. top is the path of the personal
    namespace (("INBOX",) on Courier): folders under it show at the top.
    """
    infos = list(folders)
    by_path: dict[tuple[str, ...], FolderNode] = {}
    for info in infos:
        kind = special_kind(info.name, info.special_use)
        path = info.path or (info.name,)
        if top and len(path) > len(top) and path[: len(top)] == top:
            path = path[len(top) :]
        by_path[path] = FolderNode(info, _label(info), kind)
    roots: list[FolderNode] = []
    for path, node in by_path.items():
        parent = None
        # The closest ancestor that is in the list.
        for cut in range(len(path) - 1, 0, -1):
            parent = by_path.get(path[:cut])
            if parent is not None:
                break
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    ordered: list[FolderNode] = []

    def walk(nodes: list[FolderNode], depth: int) -> None:
        for node in nodes:
            node.depth = depth
        for node in sorted(nodes, key=_root_key):
            ordered.append(node)
            walk(node.children, depth + 1)

    walk(roots, 0)
    return ordered
