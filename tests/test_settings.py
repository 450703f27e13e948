import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from webmail.env import env_bool, env_int, env_list, env_str

REPO = Path(__file__).resolve().parent.parent


def production_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "WEBMAIL_HTTPS",
            "DJANGO_SETTINGS_MODULE",
            "DATABASE_URL",
            # Set by the browser fixture for Playwright, never in production.
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        CREDENTIALS_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="mail.example.org",
        DJANGO_SETTINGS_MODULE="webmail.settings",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_the_deploy_check():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env()
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_misspelt_boolean_stops_the_start():
    result = manage("check", env=production_env(WEBMAIL_HTTPS="ture"))
    assert result.returncode != 0
    assert "WEBMAIL_HTTPS must be true or false" in result.stderr


def test_no_hashing_threads_stops_the_start():
    result = manage("check", env=production_env(SIGNIN_CONCURRENT_HASHES="0"))
    assert result.returncode != 0
    assert "SIGNIN_CONCURRENT_HASHES and SIGNIN_HASH_WAIT" in result.stderr


def test_env_readers(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 0) == 12
    assert env_list("X_LIST") == ["a", "b", "c"]
    assert env_str("X_MISSING", "fallback") == "fallback"
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("X_INT", 0)
    with pytest.raises(ImproperlyConfigured, match="X_MISSING"):
        env_str("X_MISSING")


def test_celery_speaks_json_only():
    from webmail.celery import app

    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]


def test_tests_never_use_the_shared_redis():
    assert ":6379" not in settings.REDIS_URL
    assert ":6379" not in settings.CELERY_BROKER_URL


@pytest.mark.django_db
def test_the_suite_runs_on_the_database_it_was_given():
    from django.db import connection

    wanted = os.environ.get("DATABASE_URL", "sqlite://")
    expected = "postgresql" if wanted.startswith("postgres") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
