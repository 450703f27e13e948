"""What a password costs to hash: Argon2 costs, length, and hashes at once.

The suite hashes with MD5 for speed; these tests hash as production does,
through CountingHasher, which notes each Argon2 run and its costs.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import argon2
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import webmail.settings as production
from accounts import passwords
from accounts.models import AuditEvent, MailDomain, User
from tests.accounts.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

Costs = tuple[int, int, int]  # memory (KiB), time, lanes
MEASURED: Costs = (24 * 1024, 2, 1)
TOO_LONG = "That password is too long: at most 1024 characters."
BUSY = "Too many sign-ins at once; try again in a moment."
LONG = "x" * (passwords.MAX_LENGTH + 1)


class _CountArgon2Runs(Argon2PasswordHasher):
    runs: ClassVar[list[Costs]] = []

    def encode(self, password: str, salt: str) -> str:
        params = self.params()
        self.runs.append((params.memory_cost, params.time_cost, params.parallelism))
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        params = argon2.extract_parameters("$" + encoded.split("$", 1)[1])
        self.runs.append((params.memory_cost, params.time_cost, params.parallelism))
        return super().verify(password, encoded)


class CountingHasher(passwords.Argon2Hasher, _CountArgon2Runs):
    """The production hasher; each Argon2 run it gets to is noted in runs."""


@pytest.fixture
def runs(settings: Any) -> list[Costs]:
    """The Argon2 runs since the last clear(), with production's hashers."""
    settings.PASSWORD_HASHERS = [
        "tests.accounts.test_passwords.CountingHasher",
        *production.PASSWORD_HASHERS[1:],
    ]
    CountingHasher.runs.clear()
    return CountingHasher.runs


def set_password(user: User, password: str = PASSWORD) -> None:
    user.set_password(password)
    user.save()


# The costs -----------------------------------------------------------------


def test_production_hashes_with_the_measured_costs(alice: User, settings: Any):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    set_password(alice)
    assert alice.password.startswith("argon2$argon2id$v=19$m=24576,t=2,p=1$")
    assert sign_in(Client(), "alice").status_code == 302


def test_a_hash_with_djangos_default_costs_is_upgraded_at_sign_in(
    alice: User, settings: Any
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    set_password(alice)
    assert "$m=102400,t=2,p=8$" in alice.password
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    assert sign_in(Client(), "alice").status_code == 302
    alice.refresh_from_db()
    assert "$m=24576,t=2,p=1$" in alice.password


SIGN_INS = {
    "right password": ("alice", PASSWORD),
    "wrong password": ("alice", "not the password"),
    "unknown name": ("nobody", PASSWORD),
    "disabled, right password": ("dora", PASSWORD),
    "disabled, wrong password": ("dora", "not the password"),
    "mail-server user": ("eve@mail.test", PASSWORD),
    "unknown address of a mail-server domain": ("nobody@mail.test", PASSWORD),
}


@pytest.mark.parametrize(("username", "password"), SIGN_INS.values(), ids=SIGN_INS)
def test_every_sign_in_runs_one_hash_at_the_measured_costs(
    alice: User, runs: list[Costs], username: str, password: str
):
    set_password(alice)
    dora = User.objects.create_user("dora", password=PASSWORD, is_active=False)
    # Signed up with the mail server's password: no usable local one.
    User.objects.create_user("eve@mail.test")
    # Its server is on a documentation address: the check is refused
    # without a connection, like a wrong password.
    MailDomain.objects.create(
        domain="mail.test", imap_host="192.0.2.1", sign_in_with_mail=True
    )
    assert not dora.is_active
    runs.clear()
    sign_in(Client(), username, password)
    assert runs == [MEASURED]


def test_a_disabled_user_with_the_right_password_is_still_told_so(
    alice: User, runs: list[Costs]
):
    set_password(alice)
    alice.is_active = False
    alice.save()
    response = sign_in(Client(), "alice")
    assert "This account has been disabled" in response.content.decode()


# The length ------------------------------------------------------------------


def test_a_too_long_password_is_refused_before_any_hashing(
    alice: User, runs: list[Costs]
):
    set_password(alice)
    runs.clear()
    started = time.perf_counter()
    response = sign_in(Client(), "alice", "x" * (2 * 1024 * 1024))
    took = time.perf_counter() - started
    assert response.status_code == 200
    assert TOO_LONG in response.content.decode()
    assert runs == []
    assert took < 1.0
    assert not AuditEvent.objects.filter(kind="signin").exists()


def test_a_password_of_the_longest_length_signs_in(alice: User, runs: list[Costs]):
    longest = "y" * passwords.MAX_LENGTH
    set_password(alice, longest)
    assert sign_in(Client(), "alice", longest).status_code == 302


def test_the_hasher_itself_never_hashes_a_too_long_password(runs: list[Costs]):
    hasher = CountingHasher()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    runs.clear()
    assert hasher.verify(LONG, encoded) is False
    with pytest.raises(passwords.PasswordTooLong):
        hasher.encode(LONG, hasher.salt())
    assert runs == []


def signed_in(user: User) -> Client:
    client = Client()
    assert sign_in(client, user.username).status_code == 302
    return client


def test_confirming_with_a_too_long_password_says_so(alice: User, runs: list[Costs]):
    set_password(alice)
    client = signed_in(alice)
    runs.clear()
    response = client.post(
        "/accounts/security/2fa/disable/", {"password": LONG}, follow=True
    )
    assert TOO_LONG in response.content.decode()
    assert runs == []


def test_a_password_change_with_a_too_long_old_password_says_so(
    alice: User, runs: list[Costs]
):
    set_password(alice)
    client = signed_in(alice)
    runs.clear()
    new = "another long passphrase 9"
    response = client.post(
        "/accounts/security/password/",
        {"old_password": LONG, "new_password1": new, "new_password2": new},
    )
    assert TOO_LONG in response.content.decode()
    assert runs == []


def test_an_operator_cannot_set_a_too_long_password(
    staff: User, alice: User, runs: list[Costs]
):
    set_password(staff)
    client = signed_in(staff)
    runs.clear()
    response = client.post(
        f"/manage/users/{alice.pk}/password/", {"password": LONG}, follow=True
    )
    assert TOO_LONG in response.content.decode()
    response = client.post(
        "/manage/users/new/",
        {"username": "gina", "email": "gina@example.org", "password": LONG},
    )
    assert TOO_LONG in response.content.decode()
    assert runs == []
    assert not User.objects.filter(username="gina").exists()


def test_an_import_refuses_a_too_long_password(staff: User, runs: list[Costs]):
    set_password(staff)
    client = signed_in(staff)
    runs.clear()
    text = io.StringIO()
    csv.writer(text).writerows([["username", "password"], ["gina", LONG]])
    response = client.post(
        "/manage/import/",
        {"file": SimpleUploadedFile("users.csv", text.getvalue().encode())},
    )
    assert f"line 2: password: {TOO_LONG}" in response.content.decode()
    assert runs == []
    assert not User.objects.filter(username="gina").exists()


# Hashes at once ----------------------------------------------------------------


@pytest.fixture
def two_hashing_threads(settings: Any) -> None:
    settings.SIGNIN_CONCURRENT_HASHES = 2
    settings.SIGNIN_HASH_WAIT = 0.3


@contextmanager
def hashing_threads_held(count: int) -> Iterator[threading.Event]:
    """Keep count hashing threads busy until the event is set (or the end)."""
    release = threading.Event()
    started = threading.Semaphore(0)

    def hold() -> None:
        started.release()
        release.wait(10)

    holders = [
        threading.Thread(target=passwords.run_hashing, args=(hold,))
        for _ in range(count)
    ]
    for holder in holders:
        holder.start()
    try:
        for _ in holders:
            assert started.acquire(timeout=5)
        yield release
    finally:
        release.set()
        for holder in holders:
            holder.join()


def test_no_more_hashes_than_configured_run_at_once(
    two_hashing_threads: None, settings: Any
):
    settings.SIGNIN_HASH_WAIT = 5
    running, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    def call() -> None:
        passwords.run_hashing(work)

    callers = [threading.Thread(target=call) for _ in range(6)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert most == 2


def test_a_hash_waits_for_a_free_thread(two_hashing_threads: None, settings: Any):
    settings.SIGNIN_HASH_WAIT = 5
    results: list[str] = []
    with hashing_threads_held(2) as release:
        waiting = threading.Thread(
            target=lambda: results.append(passwords.run_hashing(str, "done"))
        )
        waiting.start()
        time.sleep(0.2)
        assert results == []
        release.set()
        waiting.join(5)
    assert results == ["done"]


def test_a_hash_that_cannot_start_in_time_is_refused(two_hashing_threads: None):
    ran: list[bool] = []
    with hashing_threads_held(2):
        started = time.perf_counter()
        with pytest.raises(passwords.HashingBusy):
            passwords.run_hashing(ran.append, True)
        took = time.perf_counter() - started
    assert 0.3 <= took < 2
    time.sleep(0.1)
    assert ran == []


def test_a_sign_in_with_every_hashing_thread_busy_is_asked_to_try_again(
    alice: User, runs: list[Costs], two_hashing_threads: None
):
    set_password(alice)
    client = Client()
    with hashing_threads_held(2):
        response = sign_in(client, "alice")
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    page = response.content.decode()
    assert BUSY in page
    assert 'value="alice"' in page  # the form again, ready to send
    assert client.get("/").status_code == 302
    # Not a failed sign-in: nothing counts towards a lockout.
    assert not AccessAttempt.objects.exists()
    assert not AuditEvent.objects.filter(kind="signin_failed").exists()
    assert sign_in(client, "alice").status_code == 302


def test_a_busy_password_check_elsewhere_asks_to_try_again(
    alice: User, runs: list[Costs], two_hashing_threads: None
):
    set_password(alice)
    client = signed_in(alice)
    new = "another long passphrase 9"
    with hashing_threads_held(2):
        response = client.post(
            "/accounts/security/password/",
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
    assert response.status_code == 429
    assert BUSY in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
