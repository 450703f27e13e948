"""Deterministic demo, test and benchmark mailboxes in Maildir++ form.

``generate_maildir(root, count=..., seed=...)`` writes a realistic mailbox
(threads, Japanese charsets, HTML newsletters, attachments, flags, dates over
several years) and returns what it wrote; ``index_mailbox`` then has Dovecot
index it. Nothing here imports Django.
"""

from webmail.mailgen.maildir import (
    FolderStats,
    MailboxStats,
    folder_dir,
    generate_maildir,
    index_mailbox,
)
from webmail.mailgen.messages import KINDS, Person
from webmail.mailgen.planner import FOLDERS

__all__ = [
    "FOLDERS",
    "KINDS",
    "FolderStats",
    "MailboxStats",
    "Person",
    "folder_dir",
    "generate_maildir",
    "index_mailbox",
]
