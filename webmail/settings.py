"""Settings for the webmail, read from the environment.

Defaults suit a production deployment behind HTTPS; the demo launcher and the
tests set the few variables they need. See README.md for the list.
"""

import base64
import hashlib
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from webmail.env import env_bool, env_int, env_list, env_str

# Lets admin and form classes be written with their generic parameters.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("WEBMAIL_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "insecure-development-key" if DEBUG else None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Fernet keys for stored mail-server passwords, newest first. Kept apart from
# SECRET_KEY so that leaking one does not expose the other.
CREDENTIALS_KEYS = env_list("CREDENTIALS_KEYS")

INSTALLED_APPS = [
    "accounts",
    "webmail",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's widget templates, for the form renderer below.
    "django.forms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "webmail.urls"
ASGI_APPLICATION = "webmail.asgi.application"

# What runs in this process: "web" (uvicorn, and manage.py commands),
# "worker" (a Celery worker) or "beat". The start commands of the worker and
# beat set it (docker-compose.yml, devtools/); it sizes the database pool.
WEBMAIL_PROCESS = env_str("WEBMAIL_PROCESS", "web")
if WEBMAIL_PROCESS not in {"web", "worker", "beat"}:
    raise ImproperlyConfigured(
        f"WEBMAIL_PROCESS must be web, worker or beat, not {WEBMAIL_PROCESS!r}."
    )
# Threads per web process that run the page views (webmail/serving.py). A
# page that waits for the worker, such as a message body, holds one for
# BODY_PAGE_WAIT_MS at most; an async view waits for the rest.
WEB_THREADS = env_int("WEB_THREADS", 32)
# Threads per worker process that run tasks (Celery's thread pool).
WORKER_THREADS = env_int("WORKER_THREADS", 8)
# Threads of a worker process that act on news from watched accounts' IDLE
# connections (one thread waits on all of them: webmail/engine/hub.py).
IMAP_PUSH_THREADS = env_int("IMAP_PUSH_THREADS", 8)

# Every form draws its fields the same way (accounts/formrenderer.py).
FORM_RENDERER = "accounts.formrenderer.Renderer"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's cached loader, one compiled copy per language with
            # the fixed words translated in (webmail/template_loader.py).
            "loaders": [
                (
                    "webmail.template_loader.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'webmail.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web and worker processes write to the same file: take the write lock at
    # the start of a transaction and let readers go on beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # The page threads (webmail/serving.py) keep their connection.
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 600)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_POOL", True
):
    # A pool per process: a request takes a connection that is already open
    # (opening one costs ~3 ms on PostgreSQL) and gives it back at its end.
    # It holds at most what the process's threads can use at once, so that
    # a deployment's connections add up to a known budget (README.md,
    # "Deploying"). A web process's pages each keep one while they run; its
    # event streams and downloads run under ASGI and give theirs back before
    # they stream, so two more serve them as they start. A worker's task
    # threads and push threads each hold one; beat makes no queries.
    if WEBMAIL_PROCESS == "worker":
        pool_size = env_int(
            "WORKER_DATABASE_POOL_SIZE", WORKER_THREADS + IMAP_PUSH_THREADS
        )
    elif WEBMAIL_PROCESS == "beat":
        pool_size = 1
    else:
        pool_size = env_int("DATABASE_POOL_SIZE", WEB_THREADS + 2)
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": pool_size,
        # Seconds a connection beyond min_size may stay unused before it is
        # closed; the pool closes one such connection per period.
        "max_idle": env_int("DATABASE_POOL_MAX_IDLE", 30),
        # A thread waits this long for a free connection, then fails.
        "timeout": 10,
    }
    # Each connection is checked before it is lent: after a restart of the
    # database the pool would otherwise lend dead ones, and the request or
    # worker task that got one would fail.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Who holds a connection, in pg_stat_activity: web, worker or beat.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "application_name", f"webmail-{WEBMAIL_PROCESS}"
    )
    # Behind PgBouncer in transaction pooling mode a server connection may
    # change between transactions, so a cursor kept open across them (what
    # QuerySet.iterator() uses outside a transaction) cannot work. Django
    # already leaves statements unprepared.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env_bool(
        "DATABASE_PGBOUNCER", False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Argon2id with the costs measured for a 2-core server (accounts/passwords.py);
# hashes made with Django's defaults (100 MiB) are upgraded at sign-in.
PASSWORD_HASHERS = [
    "accounts.passwords.Argon2Hasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "accounts.passwords.MaximumLengthValidator"},
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT: Path | None = DATA_DIR / "staticfiles"

# Redis holds the Celery broker, the per-user event channels and the cache.
# The default is the project-local Redis that the demo launcher starts, never
# a shared one.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6391/0")
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "webmail")

CACHES = {
    "default": {
        "BACKEND": "webmail.cachepool.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            # Without it each request context opens its own Redis connection.
            "pool_class": "webmail.cachepool.SharedConnectionPool",
            # Pages fall back to the database when Redis is unreachable
            # (webmail/shared/readthrough.py); a lost route must not hang them first.
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# One result backend per process, not one per thread: each thread's first
# task call built its own (~2.5 ms: a Redis client, a pub/sub connection),
# and Django's ASGI handler runs every request's view in a new thread.
CELERY_RESULT_BACKEND_THREAD_SAFE = True
# Celery would close a worker thread's database connection around every
# task (opening one: ~1-3 ms SQLite, ~7 ms PostgreSQL); with this it does so
# only every 1000 tasks, and Django's rules for a request (CONN_MAX_AGE,
# health checks, pools) apply to each task instead (webmail/celery.py).
CELERY_DB_REUSE_MAX = 1000
# A task is acknowledged only once it has run, so a worker killed mid-task
# leaves it on the queue for the next worker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CONCURRENCY = WORKER_THREADS
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"

# Every task for one mail account goes to one of these queues, so that one
# worker process owns the account's IMAP connections.
IMAP_SHARDS = env_int("IMAP_SHARDS", 4)
IMAP_COMMAND_CONNECTIONS = env_int("IMAP_COMMAND_CONNECTIONS", 2)
# IDLE connections per account: the open folder's, and INBOX's where the
# server pushes but has no NOTIFY (Cyrus). With 1, INBOX is checked by
# STATUS every IMAP_INBOX_CHECK seconds instead.
IMAP_IDLE_CONNECTIONS = env_int("IMAP_IDLE_CONNECTIONS", 2)
IMAP_IDLE_TIMEOUT = env_int("IMAP_IDLE_TIMEOUT", 300)
# How long a task waits for a free connection of a busy account (seconds).
IMAP_POOL_WAIT = env_int("IMAP_POOL_WAIT", 30)
# Messages fetched per backfill step, and by the first sync of a folder (the
# first two pages, shown as soon as they are in: a server reads each
# never-fetched message's file for its structure, a few ms apiece).
IMAP_SYNC_BATCH = env_int("IMAP_SYNC_BATCH", 1000)
IMAP_FIRST_BATCH = env_int("IMAP_FIRST_BATCH", 100)
# Messages whose preview line one task of the previews pass reads (the
# start of each one's first text part: webmail/engine/previews.py); 0: none.
PREVIEW_BATCH = env_int("PREVIEW_BATCH", 200)
# Rendered bodies larger than this (characters) are not kept in the cache:
# such rare messages are fetched again when opened, so one huge message
# cannot crowd the cache. Entries also expire after a week.
BODY_CACHE_MAX_ITEM = env_int("BODY_CACHE_MAX_ITEM", 1_000_000)
# Bodies of the newest new messages of a sync that the worker renders into
# the cache before anyone opens them (0: none).
BODY_PREFETCH = env_int("BODY_PREFETCH", 10)
# Seconds between checks of folders that are open but not IDLEd on.
IMAP_POLL_INTERVAL = env_int("IMAP_POLL_INTERVAL", 30)
# Seconds between STATUS checks of INBOX (and, on servers without IDLE, the
# open folder) where the server cannot NOTIFY; a sync follows only a change.
IMAP_INBOX_CHECK = env_int("IMAP_INBOX_CHECK", 5)
# Where the server finds nothing for text other than ASCII (Cyrus reads no
# ISO-2022-JP body) or refuses CHARSET UTF-8, the worker reads the text of
# every message itself in folders of at most this many messages.
SEARCH_SCAN_LIMIT = env_int("SEARCH_SCAN_LIMIT", 2000)
# How long opening a message waits for its worker to fetch the body.
BODY_FETCH_TIMEOUT = env_int("BODY_FETCH_TIMEOUT", 20)
# How long of that a page thread waits (milliseconds), and only for a
# user's one body under way; an async view waits for the rest
# (webmail/mail/bodies.py).
BODY_PAGE_WAIT_MS = env_int("BODY_PAGE_WAIT_MS", 500)
# Bodies one user may wait for at once; more are refused at once.
BODY_WAITS_PER_USER = env_int("BODY_WAITS_PER_USER", 10)
# Seconds after the worker last found an account's server unreachable
# during which opening its mail says so at once instead of asking again.
UNREACHABLE_FAIL_FAST = env_int("UNREACHABLE_FAIL_FAST", 60)
# Retention rules (webmail/engine/retention.py): beat looks for due rules
# every RETENTION_CHECK seconds; a rule runs once every RETENTION_EVERY
# seconds and takes at most RETENTION_LIMIT messages a run (another run
# follows at once for the rest).
RETENTION_CHECK = env_int("RETENTION_CHECK", 3600)
RETENTION_EVERY = env_int("RETENTION_EVERY", 86400)
RETENTION_LIMIT = env_int("RETENTION_LIMIT", 10000)
# Seconds the notice of a move, archive, spam report or delete offers Undo
# (on every open tab of the user); the server accepts an undo a few seconds
# longer, for the click on its way.
UNDO_SECONDS = env_int("UNDO_SECONDS", 10)
# Seconds between keep-alive comments on an open event stream.
EVENTS_KEEPALIVE = env_int("EVENTS_KEEPALIVE", 20)
CELERY_TASK_ROUTES = ["webmail.shared.routing.route_task"]
# The tasks live on the worker side only; web processes send them by name
# (webmail.door) and never import them.
CELERY_IMPORTS = ("webmail.engine.tasks", "webmail.engine.retention")
CELERY_BEAT_SCHEDULE = {
    # Re-queues outbox operations whose task was lost.
    "sweep-outbox": {"task": "webmail.sweep_outbox", "schedule": 60.0},
    "reap-connections": {"task": "webmail.reap_connections", "schedule": 120.0},
    "clean-uploads": {"task": "webmail.clean_uploads", "schedule": 3600.0},
    # Applies the users' retention rules that are due.
    "check-retention": {
        "task": "webmail.check_retention",
        "schedule": float(RETENTION_CHECK),
    },
}
# Loopback and private addresses are refused as mail servers unless listed
# here, so that a user cannot point the workers at internal services.
MAIL_ALLOWED_PRIVATE_HOSTS = env_list("MAIL_ALLOWED_PRIVATE_HOSTS")
# A CA bundle trusted for mail servers on top of the system's, for sites
# whose mail servers carry certificates from a private CA (and the demo).
MAIL_CA_FILE = env_str("MAIL_CA_FILE", "") or None

# HTTPS. Off only for a local demo over http://127.0.0.1.
HTTPS = env_bool("WEBMAIL_HTTPS", True)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
)
SESSION_COOKIE_HTTPONLY = True
# Sessions are kept in the database and read from Redis: every request reads
# its session, and the cache answers that for less than a query costs. If
# Redis is down or was restarted, the database still has every session.
SESSION_ENGINE = "accounts.sessionstore"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The reading pane shows a message in a sandboxed srcdoc frame, which has no
# headers and inherits this policy; its own, stricter one is in a <meta>
# (webmail/views/body.py). So pages allow style attributes, which mail uses
# and the app's templates do not, and the frame's one stylesheet by its hash.
_BODY_STYLE = (BASE_DIR / "templates" / "webmail" / "body.css").read_bytes()
BODY_STYLE_HASH = (
    f"'sha256-{base64.b64encode(hashlib.sha256(_BODY_STYLE).digest()).decode()}'"
)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-elem": [SELF, BODY_STYLE_HASH],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # A Redis outage is logged once (webmail/shared/outage.py), Celery's
    # "Couldn't ack" of each task that ends during it too.
    "filters": {"ack_failures": {"()": "webmail.shared.outage.AckFailures"}},
    # Mail content must never reach a log, at any level: redis-py logs every
    # reply at DEBUG (task results carry message text), Celery every task's
    # result at INFO.
    "loggers": {
        "push_response": {"level": "INFO"},
        "celery.app.trace": {"level": "WARNING"},
        "celery.worker.request": {"filters": ["ack_failures"]},
    },
}

# --- Accounts and sign-in security (owned by accounts/; keep edits here) ---
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django_otp.middleware.OTPMiddleware") + 1,
    "accounts.middleware.AccountSecurityMiddleware",
)
MIDDLEWARE.insert(
    MIDDLEWARE.index("accounts.middleware.AccountSecurityMiddleware") + 1,
    "accounts.middleware.NoStoreMiddleware",
)
# Axes turns a locked-out sign-in into its lockout page; it must come last.
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.DisabledUserBackend",
    "accounts.backends.LocalUserBackend",
    "accounts.backends.MailServerBackend",
]
# Failed sign-ins lock out the user name and, separately, the address they
# came from, for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("SIGNIN_LOCKOUT_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.signin.locked_out"
AXES_IPWARE_PROXY_COUNT = 1 if env_bool("BEHIND_PROXY", False) else None
AXES_VERBOSE = False
# Password hashes running at once in a web process (each holds its Argon2
# memory), and how long a sign-in waits for one before "try again".
SIGNIN_CONCURRENT_HASHES = env_int("SIGNIN_CONCURRENT_HASHES", 2)
SIGNIN_HASH_WAIT = env_int("SIGNIN_HASH_WAIT", 2)
if SIGNIN_CONCURRENT_HASHES < 1 or SIGNIN_HASH_WAIT < 1:
    raise ImproperlyConfigured(
        "SIGNIN_CONCURRENT_HASHES and SIGNIN_HASH_WAIT must be at least 1."
    )
OTP_TOTP_ISSUER = env_str("OTP_ISSUER", "Webmail")
# Everyone must set up two-factor sign-in (an admin can also ask it of one user).
REQUIRE_2FA = env_bool("REQUIRE_2FA", False)
# Mail servers that may be reached without TLS (passwords then cross the
# network in clear text): host names or addresses, set by the admin.
MAIL_ALLOWED_PLAINTEXT_HOSTS = env_list("MAIL_ALLOWED_PLAINTEXT_HOSTS")
MAIL_CONNECT_TIMEOUT = env_int("MAIL_CONNECT_TIMEOUT", 15)

# Attachments of the mail users write: their chunks go to files here, which
# web and worker processes must both reach (a shared volume across hosts).
COMPOSE_UPLOAD_DIR = Path(env_str("COMPOSE_UPLOAD_DIR", str(DATA_DIR / "uploads")))
# The most a message's attachments may add up to, in MB (2**20 bytes); the
# SMTP server's own SIZE limit, once the worker has learned it, may be less.
# Seconds a sent message waits in the worker before it goes, so that the
# user can undo the send (from any tab); messages sent later wait for their
# time the same way (webmail/mail/scheduled.py).
UNDO_SEND_SECONDS = env_int("UNDO_SEND_SECONDS", 10)
COMPOSE_MAX_ATTACHMENT_MB = env_int("COMPOSE_MAX_ATTACHMENT_MB", 25)
COMPOSE_UPLOAD_CHUNK = env_int("COMPOSE_UPLOAD_CHUNK", 1024 * 1024)
# Uploads of messages never sent are removed after this many hours.
COMPOSE_UPLOAD_MAX_AGE = env_int("COMPOSE_UPLOAD_MAX_AGE", 24)
# Images pasted or dropped inside the text of an HTML message travel in the
# form as data: URLs: the most they may add up to, in MB. The form's fields
# may then be that much, as base64 and URL-encoded (about 1.5 times).
COMPOSE_MAX_INLINE_MB = env_int("COMPOSE_MAX_INLINE_MB", 5)
DATA_UPLOAD_MAX_MEMORY_SIZE = (COMPOSE_MAX_INLINE_MB * 2 + 2) * 1024 * 1024
# --- end of accounts section ---

# --- Reading mail: the image proxy (webmail/mail/proxy.py; keep edits here) ---
# Hosts (names, addresses or networks) on internal networks that the image
# proxy may fetch from; every other non-public address is refused.
IMAGE_PROXY_ALLOWED_HOSTS = env_list("IMAGE_PROXY_ALLOWED_HOSTS")
IMAGE_PROXY_MAX_BYTES = env_int("IMAGE_PROXY_MAX_BYTES", 5 * 1024 * 1024)
IMAGE_PROXY_TIMEOUT = env_int("IMAGE_PROXY_TIMEOUT", 5)
# --- end of image proxy section ---
