import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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


def _settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    """A fresh copy of webmail/settings.py, read with these variables set."""
    for name in (
        "WEBMAIL_PROCESS",
        "WEB_THREADS",
        "WORKER_THREADS",
        "IMAP_PUSH_THREADS",
        "DATABASE_POOL_SIZE",
        "WORKER_DATABASE_POOL_SIZE",
        "DATABASE_POOL_MAX_IDLE",
        "DATABASE_POOL",
        "DATABASE_PGBOUNCER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://webmail@db.example.org/webmail")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "settings_under_test", REPO / "webmail" / "settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pool(module: ModuleType) -> dict[str, int]:
    pool: dict[str, int] = module.DATABASES["default"]["OPTIONS"]["pool"]
    return pool


def test_a_web_process_pool_fits_its_page_threads_and_stream_starts(monkeypatch):
    web = _settings_with(monkeypatch)
    assert _pool(web) == {"min_size": 1, "max_size": 34, "max_idle": 30, "timeout": 10}
    assert web.DATABASES["default"]["OPTIONS"]["application_name"] == "webmail-web"
    assert _pool(_settings_with(monkeypatch, WEB_THREADS="10"))["max_size"] == 12
    # The worker's inputs and its own pool size leave the web's alone.
    alone = _settings_with(
        monkeypatch, WORKER_THREADS="50", WORKER_DATABASE_POOL_SIZE="70"
    )
    assert _pool(alone)["max_size"] == 34
    chosen = _settings_with(monkeypatch, DATABASE_POOL_SIZE="20")
    assert _pool(chosen)["max_size"] == 20


def test_a_worker_pool_fits_its_task_and_push_threads(monkeypatch):
    worker = _settings_with(monkeypatch, WEBMAIL_PROCESS="worker")
    assert _pool(worker)["max_size"] == 16
    assert worker.CELERY_WORKER_CONCURRENCY == 8
    assert worker.DATABASES["default"]["OPTIONS"]["application_name"] == (
        "webmail-worker"
    )
    sized = _settings_with(
        monkeypatch,
        WEBMAIL_PROCESS="worker",
        WORKER_THREADS="12",
        IMAP_PUSH_THREADS="3",
        WEB_THREADS="100",
        DATABASE_POOL_SIZE="100",
    )
    assert _pool(sized)["max_size"] == 15
    assert sized.CELERY_WORKER_CONCURRENCY == 12
    chosen = _settings_with(
        monkeypatch, WEBMAIL_PROCESS="worker", WORKER_DATABASE_POOL_SIZE="6"
    )
    assert _pool(chosen)["max_size"] == 6


def test_beat_gets_the_smallest_pool_and_idle_connections_close(monkeypatch):
    beat = _settings_with(monkeypatch, WEBMAIL_PROCESS="beat")
    assert _pool(beat)["max_size"] == 1
    quick = _settings_with(monkeypatch, DATABASE_POOL_MAX_IDLE="5")
    assert _pool(quick)["max_idle"] == 5


def test_without_the_pool_each_process_still_names_itself(monkeypatch):
    unpooled = _settings_with(monkeypatch, WEBMAIL_PROCESS="worker", DATABASE_POOL="0")
    options = unpooled.DATABASES["default"]["OPTIONS"]
    assert "pool" not in options
    assert options["application_name"] == "webmail-worker"


def test_an_unknown_process_kind_stops_the_start(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="WEBMAIL_PROCESS must be web"):
        _settings_with(monkeypatch, WEBMAIL_PROCESS="wroker")


def test_behind_pgbouncer_no_cursor_outlives_its_transaction(monkeypatch):
    direct = _settings_with(monkeypatch)
    assert direct.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] is False
    pooled = _settings_with(monkeypatch, DATABASE_PGBOUNCER="true")
    assert pooled.DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True
