"""Collecting the addresses a user writes to and hears from, for autocomplete.

Runs in the worker, never on a page's or a sync's way: a sync that brought
new messages queues webmail.account.collect_addresses, which reads the
account's cached messages past its mark (AddressCollection) in batches,
counts their From, To and Cc, and writes the counts in a few bulk queries.
The mark moves with a conditional update in the same transaction, so a
task run twice counts nothing twice. A message the worker sent counts its
recipients (To, Cc, Bcc) once it is sent.

The user's own addresses (the account's, its identities') are left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Identity, MailAccount
from webmail.mime import policies
from webmail.models import (
    AddressCollection,
    AddressKey,
    CollectedAddress,
    Message,
    OutgoingMessage,
)
from webmail.shared.addresses import (
    add_ranks,
    address_pairs,
    fold,
    prefix_keys,
    search_text,
    use_weight,
)

BATCH = 2000
BATCHES_PER_RUN = 10
# Mail in these folders says nothing of whom the user knows.
_SKIPPED_USES = ("\\Junk",)


@dataclass(frozen=True)
class Use:
    """One address seen once: in a message's From, To or Cc, or a recipient."""

    address: str
    name: str
    when: datetime


def own_addresses(account: MailAccount) -> set[str]:
    identities = Identity.objects.filter(account__user_id=account.user_id)
    accounts = MailAccount.objects.filter(user_id=account.user_id)
    return {fold(a) for a in identities.values_list("email", flat=True)} | {
        fold(a) for a in accounts.values_list("email", flat=True)
    }


def _message_uses(row: Mapping[str, Any]) -> Iterable[Use]:
    when = row["date"] or row["internaldate"] or timezone.now()
    if row["from_address"]:
        yield Use(row["from_address"], row["from_name"], when)
    for name, address in (*address_pairs(row["to"]), *address_pairs(row["cc"])):
        if address:
            yield Use(address, name, when)


def collect_from_cache(account_id: int, batches: int = BATCHES_PER_RUN) -> int:
    """Count the addresses of the account's newly cached mail; return messages read.

    Reads at most this many batches, so that a task stays well inside its
    time limit; ``more_to_collect`` says whether to queue another.
    """
    account = MailAccount.objects.filter(id=account_id).first()
    if account is None:
        return 0
    own = own_addresses(account)
    done = 0
    for _ in range(batches):
        mark, _ = AddressCollection.objects.get_or_create(account=account)
        rows = list(
            Message.objects.filter(folder__account=account, id__gt=mark.last_message_id)
            .order_by("id")
            .values(
                "id",
                "date",
                "internaldate",
                "from_name",
                "from_address",
                "to",
                "cc",
                "message_id",
                "folder__special_use",
            )[:BATCH]
        )
        if not rows:
            return done
        sent_here = _sent_by_worker(account, rows)
        uses = [
            use
            for row in rows
            if row["folder__special_use"] not in _SKIPPED_USES
            and row["message_id"] not in sent_here
            for use in _message_uses(row)
        ]
        with transaction.atomic():
            moved = AddressCollection.objects.filter(
                id=mark.id, last_message_id=mark.last_message_id
            ).update(last_message_id=rows[-1]["id"])
            if not moved:
                return done  # another run took this batch
            record_uses(account.user_id, uses, own)
        done += len(rows)
    return done


def _sent_by_worker(
    account: MailAccount, rows: Sequence[Mapping[str, Any]]
) -> set[str]:
    """Message-IDs of these rows' Sent copies of mail the worker sent.

    collect_sent counted those recipients when the message went; its copy in
    Sent, cached later, must not count them a second time.
    """
    copies = {
        row["message_id"]
        for row in rows
        if (row["folder__special_use"] or "").lower() == "\\sent" and row["message_id"]
    }
    if not copies:
        return set()
    return set(
        OutgoingMessage.objects.filter(
            account=account, message_id__in=copies
        ).values_list("message_id", flat=True)
    )


def more_to_collect(account_id: int) -> bool:
    """Whether the account has cached mail past its collection mark."""
    mark = (
        AddressCollection.objects.filter(account_id=account_id)
        .values_list("last_message_id", flat=True)
        .first()
    )
    return Message.objects.filter(
        folder__account_id=account_id, id__gt=mark or 0
    ).exists()


def collect_sent(outgoing_id: int) -> None:
    """Count the recipients of a message the worker has sent."""
    outgoing = (
        OutgoingMessage.objects.select_related("account").filter(id=outgoing_id).first()
    )
    if outgoing is None:
        return
    account = outgoing.account
    # The headers only: the message may carry megabytes of files.
    headers = BytesHeaderParser(policy=policies.READ).parsebytes(bytes(outgoing.raw))
    names: dict[str, str] = {}
    for header in ("to", "cc"):
        for name, address in getaddresses(
            [str(v) for v in headers.get_all(header, [])]
        ):
            names.setdefault(fold(address), name)
    when = outgoing.sent_at or timezone.now()
    uses = [Use(a, names.get(fold(a), ""), when) for a in outgoing.recipients]
    record_uses(account.user_id, uses, own_addresses(account))


def record_uses(user_id: int, uses: Sequence[Use], own: Collection[str] = ()) -> None:
    """Add these uses to the user's collected addresses, in bulk."""
    grouped: dict[str, list[Use]] = {}
    for use in uses:
        key = fold(use.address)
        if key and "@" in key and key not in own and len(key) <= 255:
            grouped.setdefault(key, []).append(use)
    if not grouped:
        return
    rows = CollectedAddress.objects.select_for_update().filter(
        user_id=user_id, key__in=list(grouped)
    )
    with transaction.atomic():
        known = {row.key: row for row in rows}
        changed, new = [], []
        for key, found in grouped.items():
            latest = max(found, key=lambda u: u.when)
            named = [u for u in found if u.name.strip()]
            name = max(named, key=lambda u: u.when).name.strip()[:255] if named else ""
            weights = [use_weight(u.when) for u in found]
            row = known.get(key)
            if row is None:
                new.append(
                    CollectedAddress(
                        user_id=user_id,
                        address=latest.address.strip()[:255],
                        key=key,
                        name=name,
                        count=len(found),
                        last_used=latest.when,
                        rank=add_ranks(weights),
                        search=search_text(key, name),
                    )
                )
                continue
            row.count += len(found)
            row.rank = add_ranks([row.rank, *weights])
            if latest.when >= row.last_used:
                row.last_used = latest.when
                row.name = name or row.name
            row.search = search_text(key, row.name)
            changed.append(row)
        fields = ["count", "rank", "last_used", "name", "search"]
        CollectedAddress.objects.bulk_update(changed, fields, batch_size=500)
        try:
            with transaction.atomic():
                CollectedAddress.objects.bulk_create(new, batch_size=500)
        except IntegrityError:
            # Another account of the user added some at the same time: one
            # use of each is lost, which ranking can bear.
            CollectedAddress.objects.bulk_create(
                new, batch_size=500, ignore_conflicts=True
            )
        _rebuild_keys(user_id, list(grouped))


def _rebuild_keys(user_id: int, keys: list[str]) -> None:
    """The AddressKey rows of these addresses, anew with their names and ranks."""
    rows = list(
        CollectedAddress.objects.filter(user_id=user_id, key__in=keys).values_list(
            "id", "search", "rank"
        )
    )
    made = [
        AddressKey(user_id=user_id, collected_id=row_id, key=key, rank=rank)
        for row_id, search, rank in rows
        for key in prefix_keys(search)
    ]
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 500):
        # _raw_delete: one DELETE, without loading the rows to send signals.
        gone = AddressKey.objects.filter(collected_id__in=ids[start : start + 500])
        gone._raw_delete(gone.db)
    AddressKey.objects.bulk_create(made, batch_size=1000)
