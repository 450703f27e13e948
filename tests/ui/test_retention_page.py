"""The retention rules page: preview before saving, edit, remove, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template.defaultfilters import filesizeformat
from django.test import Client
from django.utils import timezone

from tests.ui.mail import account_of, add_folder, add_message, standard_mailbox
from webmail.engine import retention as engine_retention
from webmail.models import Folder, Message, RetentionRule, RetentionRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(alice):
    folders = standard_mailbox(alice)
    now = timezone.now()
    trash = folders["Trash"]
    # Three messages of 400 days, one of 10: a 365-day rule takes three.
    for uid in (1, 2, 3):
        add_message(trash, uid, f"old {uid}", date=now - timedelta(days=400), size=1000)
    add_message(trash, 4, "recent", date=now - timedelta(days=10), size=5000)
    return folders


@pytest.fixture
def page(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def url(alice, *rest: object) -> str:
    account = account_of(alice)
    return "/".join([f"/mail/{account.id}/retention", *map(str, rest)]) + "/"


def test_the_preview_says_what_the_rule_would_take_and_saves_nothing(
    alice, mailbox, page
):
    form = {"folder": mailbox["Trash"].id, "action": "delete", "days": "365"}
    response = page.post(url(alice), {**form, "step": "preview"})
    text = response.content.decode()
    assert response.status_code == 200
    assert "This will delete 3 messages for good, 2.9\xa0KB." in text
    assert not RetentionRule.objects.exists()

    response = page.post(url(alice), {**form, "step": "save"}, follow=True)
    rule = RetentionRule.objects.get()
    assert (rule.folder_id, rule.action, rule.days) == (
        mailbox["Trash"].id,
        "delete",
        365,
    )
    text = response.content.decode()
    assert "Rule saved." in text
    assert "Delete messages older than 365 days" in text
    assert "Not run yet" in text


def test_the_preview_groups_large_counts(alice, mailbox, page):
    junk = add_folder(account_of(alice), "Junk", "\\Junk")
    old = timezone.now() - timedelta(days=100)
    Message.objects.bulk_create(
        Message(folder=junk, uid=uid, date=old, size=170_000) for uid in range(1, 1235)
    )
    form = {"folder": junk.id, "action": "delete", "days": "30"}
    text = page.post(url(alice), form).content.decode()
    size = filesizeformat(1234 * 170_000)
    assert f"This will delete 1,234 messages for good, {size}." in text


def test_deleting_outside_trash_is_previewed_as_a_move_to_trash(alice, mailbox, page):
    inbox = mailbox["INBOX"]  # four messages of a few hours, dated 2026-11-20
    days = (timezone.now() - inbox.messages.order_by("date")[0].date).days
    form = {"folder": inbox.id, "action": "delete", "days": str(max(days, 1))}
    text = page.post(url(alice), form).content.decode()
    assert "This will move 4 messages to Trash" in text


def test_fewer_than_one_day_is_refused_and_the_form_keeps_what_was_typed(
    alice, mailbox, page
):
    for days in ("0", "-3", "soon", ""):
        form = {"folder": mailbox["Trash"].id, "action": "delete", "days": days}
        response = page.post(url(alice), {**form, "step": "save"})
        assert response.status_code == 400
        text = response.content.decode()
        assert "Type a number of days of 1 or more." in text
        assert f'value="{days}"' in text
    assert not RetentionRule.objects.exists()


def test_a_folder_gone_is_refused_with_a_clear_message(alice, mailbox, page):
    gone = mailbox["Projects/Beta"]
    gone_id = gone.id
    gone.delete()  # another device deleted it while the form was open
    form = {"folder": gone_id, "action": "delete", "days": "30", "step": "save"}
    response = page.post(url(alice), form)
    assert response.status_code == 400
    assert "That folder no longer exists." in response.content.decode()
    assert not RetentionRule.objects.exists()


def test_a_rule_whose_folder_went_says_so(alice, mailbox, page):
    folder = mailbox["Projects"]
    RetentionRule.objects.create(
        account=account_of(alice),
        folder=folder,
        folder_name="Projects",
        action="archive",
        days=90,
    )
    folder.delete()
    text = page.get(url(alice)).content.decode()
    assert "this folder no longer exists" in text


def test_archiving_needs_an_archive_folder(alice, mailbox, page):
    Folder.objects.filter(id=mailbox["Archive"].id).update(special_use="")
    form = {"folder": mailbox["INBOX"].id, "action": "archive", "days": "30"}
    response = page.post(url(alice), form)
    assert response.status_code == 400
    assert "This mailbox has no Archive folder" in response.content.decode()


def test_editing_a_rule_previews_then_changes_it(alice, mailbox, page):
    rule = RetentionRule.objects.create(
        account=account_of(alice),
        folder=mailbox["Trash"],
        folder_name="Trash",
        action="delete",
        days=30,
        next_run_at=timezone.now() + timedelta(days=1),
    )
    text = page.get(url(alice, rule.id)).content.decode()
    assert "Edit the rule" in text
    assert 'value="30"' in text

    form = {"folder": mailbox["Trash"].id, "action": "delete", "days": "5"}
    text = page.post(url(alice, rule.id), form).content.decode()
    assert "This will delete 4 messages for good, 7.8\xa0KB." in text
    rule.refresh_from_db()
    assert rule.days == 30

    page.post(url(alice, rule.id), {**form, "step": "save"})
    rule.refresh_from_db()
    assert rule.days == 5
    assert rule.next_run_at is None  # the changed rule applies at the next check


def test_removing_a_rule(alice, mailbox, page):
    rule = RetentionRule.objects.create(
        account=account_of(alice),
        folder=mailbox["Trash"],
        folder_name="Trash",
        action="delete",
        days=30,
    )
    RetentionRun.objects.create(rule=rule, messages=3, bytes=3000, outcome="done")
    assert "3 messages, 2.9\xa0KB" in page.get(url(alice)).content.decode()
    response = page.post(url(alice, rule.id) + "remove", follow=True)
    assert "Rule removed." in response.content.decode()
    assert not RetentionRule.objects.exists()
    assert not RetentionRun.objects.exists()


def test_a_run_on_a_folder_gone_is_reported_as_such(alice, mailbox, page):
    folder = mailbox["Projects"]
    rule = RetentionRule.objects.create(
        account=account_of(alice),
        folder=folder,
        folder_name="Projects",
        action="delete",
        days=30,
    )
    folder.delete()
    run = engine_retention.run_rule(rule.id, timezone.now())
    assert (run.outcome, run.messages) == ("gone", 0)
    text = page.get(url(alice)).content.decode()
    assert "Not run: the folder no longer exists" in text


def test_a_run_a_dead_worker_left_is_closed_and_its_rule_falls_due(
    alice, mailbox, page, settings
):
    rule = RetentionRule.objects.create(
        account=account_of(alice),
        folder=mailbox["Trash"],
        folder_name="Trash",
        action="delete",
        days=30,
        next_run_at=timezone.now() + timedelta(days=1),
    )
    run = RetentionRun.objects.create(rule=rule, messages=0)
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    RetentionRun.objects.filter(id=run.id).update(started_at=long_ago)
    fresh = RetentionRun.objects.create(rule=rule)  # still within its time limit

    assert engine_retention.recover_interrupted() == 1
    assert engine_retention.due_accounts() == [rule.account_id]
    fresh.refresh_from_db()
    assert fresh.outcome == "running"
    text = page.get(url(alice)).content.decode()
    assert (
        "Failed: The run was interrupted; the rest follows at the next check." in text
    )
