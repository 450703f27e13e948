"""The README's first operator: createsuperuser, then the operator pages."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tests.accounts.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_createsuperuser_makes_an_operator_who_reaches_manage(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long first operator passphrase")
    call_command(
        "createsuperuser", "--noinput", "--username=root", "--email=root@example.org"
    )
    operator = User.objects.get(username="root")
    assert operator.is_staff

    client = Client()
    sign_in(client, "root", "a long first operator passphrase")
    page = client.get("/manage/")

    assert page.status_code == 200
    assert "Audit log" in page.content.decode()
