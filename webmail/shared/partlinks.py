"""Part ids and the signed links of inline parts, made by the worker and read by pages.

A part id is an IMAP section ("2.1"); a file inside a winmail.dat part is
its section and its place after a "~" ("2~1"). Inline images of the
sandboxed body frame load without the session cookie, so their URLs carry
a signature instead (sign_part, like the image proxy).
"""

from __future__ import annotations

from django.core import signing
from django.urls import reverse

# Inline images: the body frame's HTML is cached for a week
# (webmail.shared.bodycache), so a signature must outlive the cache entry
# that carries it.

# Inline images: the body frame's HTML is cached for a week (bodies.py),
# so a signature must outlive the cache entry that carries it.
SIGNED_MAX_AGE = 8 * 24 * 3600


def tnef_part_id(section: str, index: int) -> str:
    """Return the id of file ``index`` (from 0) inside a winmail.dat part.

    The files of one winmail.dat share its IMAP section, so each gets the
    section and its place after a "~" (from 1): "2~1", "2~2".
    """
    return f"{section}~{index + 1}"


def split_part_id(part_id: str) -> tuple[str, int | None]:
    """Return (IMAP section, index inside its winmail.dat or None)."""
    section, tilde, place = part_id.partition("~")
    if not tilde:
        return part_id, None
    if not place.isdigit() or int(place) < 1:
        raise ValueError(f"Not a part id: {part_id!r}")
    return section, int(place) - 1


def _salt(user_id: int) -> str:
    return f"webmail.part.user:{user_id}"


def sign_part(
    user_id: int, account_id: int, folder_id: int, uid: int, part_id: str
) -> str:
    """Return a token that lets this user's body frame load one part."""
    return signing.dumps([account_id, folder_id, uid, part_id], salt=_salt(user_id))


def unsign_part(user_id: int, token: str) -> tuple[int, int, int, str]:
    """Return (account, folder, uid, part) of a token; BadSignature if forged."""
    value = signing.loads(token, salt=_salt(user_id), max_age=SIGNED_MAX_AGE)
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, int) for v in value[:3])
        or not isinstance(value[3], str)
    ):
        raise signing.BadSignature("Not a part token.")
    return value[0], value[1], value[2], value[3]


def inline_part_url(
    user_id: int, account_id: int, folder_id: int, uid: int, part_id: str
) -> str:
    """Return the signed URL of an inline part (a cid: image)."""
    token = sign_part(user_id, account_id, folder_id, uid, part_id)
    return reverse("mail_inline_part", args=[user_id, token])
