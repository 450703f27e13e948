"""The verbs for reading a message's body: from the cache, or asked of the worker.

Opening a message is the one read that waits on a worker: a body not in
the body cache yet (webmail.shared.bodycache) is fetched by the account's
worker, which hands it back on a Redis list of this request's own
(webmail.mail.waits). Nothing is asked when the worker could not answer:
when no worker runs the account's shard, when the account's server is
known to be unreachable, or when the user already waits for many bodies.

A page thread waits BODY_PAGE_WAIT_MS at most, and only for a user's one
wait under way: a body that takes longer is "pending", and the page hands
the rest of the wait to an async view (await_body), which holds no thread
while a hung server keeps it waiting up to BODY_FETCH_TIMEOUT seconds.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, gettext_noop

from accounts.models import MailAccount
from webmail import door
from webmail.mail import waits
from webmail.mail.changes import set_flags
from webmail.mail.status import unreachable_error
from webmail.mime import text_to_html
from webmail.mime.sanitize import sanitize_html
from webmail.models import Folder, Message
from webmail.shared import outage
from webmail.shared.bodycache import LOAD_FAILED, cached_body
from webmail.shared.partlinks import inline_part_url

logger = logging.getLogger(__name__)


@dataclass
class AttachmentInfo:
    """An attachment as the reading pane lists it."""

    part_id: str
    filename: str
    content_type: str
    size: int
    url: str


@dataclass
class BodyState:
    """What the reading pane shows of a message; error is set on failure."""

    text: str | None = None
    html: str = ""
    has_remote_content: bool = False
    attachments: list[AttachmentInfo] = field(default_factory=list)
    error: str | None = None
    # Whether the text is only the start of a longer one.
    truncated: bool = False
    # Attached messages, as webmail.mime.forwarded.attached_messages gives
    # them, each with its sanitized "html" and its "attachments".
    forwarded: list[dict[str, Any]] = field(default_factory=list)
    # The message's Reply-To, as [name, address] pairs.
    reply_to: list[list[str]] = field(default_factory=list)
    # A calendar invitation's facts (webmail.mime.calendar.Invitation).
    invitation: dict[str, Any] | None = None
    # The worker has not answered yet: the token that await_body() takes.
    pending: str | None = None
    # The HTML as the message has it, and its inline parts ([content-id,
    # part id] pairs): sanitized again when the reader shows remote images.
    raw_html: str = ""
    cid_parts: list[list[str]] = field(default_factory=list)


def part_url(account_id: int, folder_id: int, uid: int, part_id: str) -> str:
    """Return the URL that serves one part (inline image or attachment)."""
    try:
        return reverse("mail_part", args=[account_id, folder_id, uid, part_id])
    except NoReverseMatch:
        return ""


def message_facts(user_id: int, folder: Folder, message: Message) -> dict[str, Any]:
    """Return what the worker needs to know of a message to fetch its body.

    The web has read these rows already; sent along with the task, they
    spare the worker a database query while the reader waits (render_body).
    user_id is the account's owner, whom the signed inline part URLs name.
    """
    return {
        "folder": folder.name,
        "uidvalidity": folder.uidvalidity or 0,
        "size": message.size,
        "owner": user_id,
        "has_preview": bool(message.preview),
    }


BUSY = gettext_noop("The mail service is busy; try again in a moment.")
SLOW = gettext_noop("The mail server is slow to answer; try again in a moment.")


def fetch_through_worker(
    account_id: int,
    folder_id: int,
    uid: int,
    timeout: float,
    *,
    mark_seen: bool = False,
    facts: dict[str, Any] | None = None,
    owner: int | None = None,
    defer: bool = False,
) -> dict[str, Any]:
    """Ask the account's worker for a body and wait up to timeout seconds.

    The worker pushes the body onto a list named for this request alone;
    a blocking pop takes it the moment it is there. Cheaper than Celery's
    result backend (no subscription, no result kept in Redis for an hour),
    and the worker answers before it writes the list's preview. With
    mark_seen the worker then marks the message read, if it could read it
    and answered while this request still waited. facts (message_facts())
    spare the worker reading them from the database. owner: the account's
    user, whose waits are counted (looked up if not given).

    With defer, a body that is not there within BODY_PAGE_WAIT_MS (or at
    once, while the user waits for another) comes back as {"pending":
    token}, for await_body() to take.
    """
    if owner is None:
        owner = int((facts or {}).get("owner") or _owner(account_id))
    # An absolute time, so that a retried or long-queued task does not
    # mark read a message whose reader was told it could not be loaded.
    until = time.time() + timeout if mark_seen else None
    try:
        wait = waits.begin(owner, account_id, timeout)
    except waits.Refused as refused:
        return {"error": refused.reason}
    except Exception as exc:  # Redis unreachable
        outage.redis.failed("a body not asked of the worker", exc)
        return {"error": BUSY}
    try:
        door.fetch_body(
            account_id,
            folder_id,
            uid,
            wait.reply_key,
            mark_seen_until=until,
            facts=facts,
            expires=timeout,
        )
        if defer:
            quick = float(settings.BODY_PAGE_WAIT_MS) / 1000
            answer = waits.take(wait, quick) if wait.others == 0 else None
            if answer is None:
                return {"pending": wait.token}
        else:
            answer = waits.take(wait, timeout)
    except Exception as exc:  # broker or Redis unreachable
        outage.redis.failed("a body not fetched through the worker", exc)
        waits.end(wait)
        return {"error": BUSY}
    waits.end(wait)
    return _body_of(answer)


async def await_body(user_id: int, token: str) -> dict[str, Any]:
    """Take the body a {"pending": token} stands for, within its deadline."""
    try:
        answer = await waits.atake(user_id, token)
    except Exception as exc:  # Redis unreachable
        outage.redis.failed("a body not waited for", exc)
        return {"error": BUSY}
    return _body_of(answer)


def _body_of(answer: bytes | None) -> dict[str, Any]:
    if answer is None:
        return {"error": SLOW}
    body = json.loads(answer)
    return body if isinstance(body, dict) else dict(LOAD_FAILED)


def _owner(account_id: int) -> int:
    return int(
        MailAccount.objects.filter(id=account_id)
        .values_list("user_id", flat=True)
        .get()
    )


def body_state(
    account_id: int, folder: Folder, uid: int, body: dict[str, Any]
) -> BodyState:
    """Return the reading pane's view of a body dict."""
    if "pending" in body:
        return BodyState(pending=str(body["pending"]))
    if "error" in body:
        # The worker writes English (marked with gettext_noop) or an IMAP
        # error's own text; shown in the reader's language where the
        # catalogue has it.
        return BodyState(error=gettext(str(body["error"])))
    html = body.get("html") or ""
    if not html and body.get("text"):
        html = text_to_html(body["text"])
    return BodyState(
        text=body.get("text"),
        html=html,
        has_remote_content=bool(body.get("has_remote_content")),
        attachments=[
            AttachmentInfo(
                part_id=a["part_id"],
                filename=a["filename"],
                content_type=a["content_type"],
                size=int(a["size"]),
                url=part_url(account_id, folder.id, uid, a["part_id"]),
            )
            for a in body.get("attachments", [])
        ],
        forwarded=list(body.get("forwarded") or []),
        truncated=bool(body.get("truncated")),
        reply_to=[list(pair) for pair in body.get("reply_to") or []],
        invitation=body.get("invitation") or None,
        raw_html=body.get("raw_html") or "",
        cid_parts=[list(pair) for pair in body.get("cid_parts") or []],
    )


def body_timeout() -> float:
    return float(settings.BODY_FETCH_TIMEOUT)


def open_message(
    account: MailAccount,
    folder: Folder,
    message: Message,
    *,
    timeout: float | None = None,
    mark_seen: bool = False,
    defer: bool = False,
) -> BodyState:
    """Return a message's body for the reading pane; errors are in .error.

    The one read that waits on a worker: a body not in the cache yet is
    fetched by the account's worker, waiting up to timeout seconds
    (settings.BODY_FETCH_TIMEOUT) before giving up with a clear error.
    With defer, one that does not come at once is .pending instead (see
    fetch_through_worker).

    With mark_seen the message is also marked read, unless its text could
    not be shown. When the worker fetches the body, it marks the message
    after it has handed the body over, so the reader does not wait for that
    write; the caller shows the message as read either way.
    """
    if folder.account_id != account.id or message.folder_id != folder.id:
        raise Http404("No such message.")
    uid = message.uid
    body = cached_body(account.id, folder, uid)
    if body is None:
        limit = timeout if timeout is not None else body_timeout()
        facts = message_facts(account.user_id, folder, message)
        body = _fetch(account, folder.id, uid, limit, mark_seen, facts, defer)
    elif mark_seen and "error" not in body:
        set_flags(account, folder, [uid], add=["\\Seen"])
    return body_state(account.id, folder, uid, body)


def _fetch(
    account: MailAccount,
    folder_id: int,
    uid: int,
    timeout: float,
    mark_seen: bool,
    facts: dict[str, Any] | None,
    defer: bool,
) -> dict[str, Any]:
    """fetch_through_worker(), unless the account's server is known to be away."""
    known = unreachable_error(account)
    if known:
        return {"error": known}
    return fetch_through_worker(
        account.id,
        folder_id,
        uid,
        timeout,
        mark_seen=mark_seen,
        facts=facts,
        owner=account.user_id,
        defer=defer,
    )


def frame_body(
    account: MailAccount, folder: Folder, uid: int, *, defer: bool = False
) -> dict[str, Any]:
    """Return a message's body dict for the body frame: cached, or fetched.

    An {"error": ...} when it could not be loaded; with defer, possibly
    {"pending": token} (see fetch_through_worker).
    """
    body = cached_body(account.id, folder, uid)
    if body is None:
        body = _fetch(account, folder.id, uid, body_timeout(), False, None, defer)
    return body


def message_html(
    account: MailAccount,
    folder: Folder,
    uid: int,
    *,
    allow_remote: bool = False,
    rewrite_url: Callable[[str], str] | None = None,
) -> str:
    """Return a message's HTML, sanitized ("" if it could not be loaded).

    With allow_remote, remote images are kept, their URLs passed through
    rewrite_url (the image proxy).
    """
    body = frame_body(account, folder, uid)
    if "error" in body:
        return ""
    return body_html(
        account, folder, uid, body, allow_remote=allow_remote, rewrite_url=rewrite_url
    )


def body_html(
    account: MailAccount,
    folder: Folder,
    uid: int,
    body: dict[str, Any],
    *,
    allow_remote: bool = False,
    rewrite_url: Callable[[str], str] | None = None,
) -> str:
    """Return the sanitized HTML of a body dict that holds no error."""
    state = body_state(account.id, folder, uid, body)
    return shown_html(
        account, folder, uid, state, allow_remote=allow_remote, rewrite_url=rewrite_url
    )


def shown_html(
    account: MailAccount,
    folder: Folder,
    uid: int,
    state: BodyState,
    *,
    allow_remote: bool = False,
    rewrite_url: Callable[[str], str] | None = None,
) -> str:
    """Return the sanitized HTML of a loaded body, as the reader shows it.

    With allow_remote, remote images are kept, their URLs passed through
    rewrite_url (the image proxy).
    """
    if allow_remote and rewrite_url is not None and state.raw_html:
        cids = {pair[0]: pair[1] for pair in state.cid_parts if len(pair) == 2}

        def cid_url(content_id: str) -> str:
            part = cids.get(content_id.strip().strip("<>"))
            if not part:
                return ""
            return inline_part_url(account.user_id, account.id, folder.id, uid, part)

        return sanitize_html(
            state.raw_html,
            allow_remote=True,
            rewrite_url=rewrite_url,
            cid_url=cid_url,
        ).html
    return state.html
