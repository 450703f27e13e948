"""Drills: a burst of actions while a part of the system fails loses nothing.

Each runs 40 actions (star, read, move, delete to Trash) through the page
side's verbs over a few seconds while the worker is killed, Redis is
stopped, or Dovecot is frozen or restarted, then compares the server with
what the user did (tests/engine/drills.py). bench/drills.py runs the same
drills larger and prints the figures.
"""

from __future__ import annotations

import random

import pytest

from tests.engine import drills
from tests.engine.drills import Login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ACTIONS = 40
SECONDS = 4.0
SIZES = {"INBOX": 30, "Archive": 20, "Projects": 10}
# Generous: the worker reconnects to a restarted Redis with a growing
# back-off, and the outbox retries a frozen server with one too.
CONSISTENT_WITHIN = 60.0


@pytest.fixture
def mailbox(imap_user):
    """A seeded mailbox, its account and its loaded cache; (login, account, model)."""
    login = Login(imap_user.server, imap_user.username, imap_user.password)
    model = drills.seed(login, SIZES, random.Random(1))
    account = drills.new_account(login)
    drills.load_cache(account)
    return login, account, model


def _drill(
    mailbox, keeper: drills.Keeper, fault: drills.Fault, held_back: bool = False
) -> drills.Outcome:
    login, account, model = mailbox
    outcome = drills.run_drill(
        login,
        account,
        model,
        keeper,
        fault,
        actions=ACTIONS,
        seconds=SECONDS,
        timeout=CONSISTENT_WITHIN,
        rng=random.Random(2),
    )
    print(drills.table([outcome]))
    assert outcome.actions == ACTIONS
    assert outcome.errors == 0, drills.describe(outcome)
    assert (outcome.lost, outcome.doubled) == (0, 0), drills.describe(outcome)
    assert outcome.seconds is not None, drills.describe(outcome)
    if held_back:  # the fault did keep actions from the server for a while
        assert outcome.held > 0, drills.describe(outcome)
    return outcome


def test_the_worker_killed_twice_mid_burst_loses_and_doubles_nothing(mailbox, worker):
    keeper = drills.Keeper(worker)
    _drill(mailbox, keeper, drills.worker_killed(keeper, 2, SECONDS))


def test_redis_down_mid_burst_loses_and_doubles_nothing(mailbox, worker, redis_server):
    _drill(
        mailbox,
        drills.Keeper(worker),
        drills.redis_stopped(redis_server, at=1.0, down=3.0),
        held_back=True,
    )


def test_dovecot_frozen_mid_burst_loses_and_doubles_nothing(mailbox, worker, imap_user):
    _drill(
        mailbox,
        drills.Keeper(worker),
        drills.dovecot_frozen(imap_user.server, at=1.0, frozen=6.0),
        held_back=True,
    )


def test_dovecot_restarted_mid_burst_loses_and_doubles_nothing(
    mailbox, worker, imap_user
):
    _drill(
        mailbox,
        drills.Keeper(worker),
        drills.dovecot_restarted(imap_user.server, at=2.0),
    )


def test_the_comparison_sees_a_lost_change_and_a_doubled_message(
    mailbox, other_device, imap_user
):
    """What the drills count is what another device would see differ."""
    login, _, model = mailbox
    assert drills.compare(model, drills.read_server(login)) == (0, 0)
    phone = other_device(imap_user)
    phone.select_folder("INBOX")
    uids = phone.search(["ALL"])
    phone.copy(uids[:1], "Archive")  # one message now twice
    flags = phone.get_flags(uids[1:2])[uids[1]]
    if b"\\Seen" in flags:  # one read state not as the user left it
        phone.remove_flags(uids[1:2], [b"\\Seen"])
    else:
        phone.add_flags(uids[1:2], [b"\\Seen"])

    assert drills.compare(model, drills.read_server(login)) == (1, 1)
