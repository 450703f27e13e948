"""Settings for the test suite: the real settings with test-only secrets."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
# A fixed Fernet key, only ever used on throwaway test data.
os.environ.setdefault(
    "CREDENTIALS_KEYS", "oyTMOES_hzCt5G021bSMxv4PgkRM4XOPfWs9jHVlKnM="
)
os.environ.setdefault("WEBMAIL_HTTPS", "false")
# Nothing may talk to a Redis the suite did not start: the fixtures point
# every client at the suite's own server.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")

# Attachments being written: one directory per test run, which the worker
# and served-app processes inherit through the environment.
os.environ.setdefault(
    "COMPOSE_UPLOAD_DIR",
    os.path.join(tempfile.gettempdir(), f"webmail-uploads-{os.getpid()}"),
)

# A message sent in the tests goes at once; the tests of undoing a send and
# of sending later set their own wait.
os.environ.setdefault("UNDO_SEND_SECONDS", "0")

from webmail.settings import *  # noqa: F403
from webmail.settings import DATABASES

# Celery workers run in their own processes in the tests, so the test
# database must be a file they can open too.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"webmail-test-{os.getpid()}.db")
    }

# After each transactional test the suite's process empties the database
# (TRUNCATE) while the test's worker may still be syncing. Should the two
# deadlock, PostgreSQL aborts the side that looks first: with a longer wait
# here, that is the worker's query (its task fails; the test is over), not
# the flush. Setting it needs a superuser, as the README's test URL has.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    os.environ.get("WEBMAIL_PROCESS", "web") == "web"
):
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        "-c deadlock_timeout=10s"
    )

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Static files come straight from the source folders in the tests, with no
# collectstatic step.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
