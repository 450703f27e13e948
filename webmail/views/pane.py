"""What the reading pane's toolbar offers for the open folder.

Move targets, and whether Archive, Spam and Not spam apply here: an
Archive button with no Archive folder, or Spam inside Junk, would do
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from webmail.mail import actions, reading
from webmail.views import present

if TYPE_CHECKING:
    from accounts.models import MailAccount
    from webmail.models import Folder


@dataclass
class Target:
    id: int
    title: str


@dataclass
class PaneTools:
    """The toolbar's choices: where a message can go from this folder."""

    targets: list[Target] = field(default_factory=list)
    archive: bool = False
    spam: bool = False
    not_spam: bool = False
    # Delete destroys the message here (Trash, Junk): it asks first.
    delete_forever: bool = False


def pane_tools(account: MailAccount, folder: Folder) -> PaneTools:
    """Return the pane's toolbar choices for messages of this folder."""
    folders = reading.folders(account)
    nodes = present.folder_nodes(
        account.id, folders, prefix=present.folder_prefix(account)
    )
    kinds = {node.id: node.kind for node in nodes}
    here = kinds.get(folder.id)
    present_kinds = {kind for kind in kinds.values() if kind}
    return PaneTools(
        targets=[
            Target(node.id, "\u00a0\u00a0" * node.depth + node.title)
            for node in nodes
            if node.folder.selectable and node.id != folder.id
        ],
        archive="archive" in present_kinds and here != "archive",
        spam="junk" in present_kinds and here != "junk",
        not_spam=here == "junk",
        delete_forever=actions.deletes_for_good(account, folder),
    )
