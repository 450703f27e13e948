"""The email package's policies as this project uses them.

Both make each header class once: the standard header registry makes a new
class for every header it is given (about half of the work of building a
plain message), and the classes it makes for one name are all alike.
"""

from __future__ import annotations

from email import policy as email_policy
from email.headerregistry import BaseHeader, HeaderRegistry


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, remembering the classes it made."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# Messages going out. 7bit: bodies go as quoted-printable or base64,
# whichever is shorter, so the message needs no 8BITMIME on any server it
# passes.
SMTP = email_policy.SMTP.clone(cte_type="7bit", header_factory=_HeaderClasses())

# Reading back messages this webmail wrote (their headers as objects).
READ = email_policy.default.clone(header_factory=_HeaderClasses())
