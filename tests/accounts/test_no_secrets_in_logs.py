"""No password, one-time code, key or mail content reaches any log.

Every logger is turned up to DEBUG, as an admin chasing a problem would,
and everything logged in this process is searched for the secrets the steps
handled. The Celery worker runs in its own process and writes its own log
(at the level it is started with); that file is searched too.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import EncryptedTOTPDevice, RecoveryCode, User
from tests.accounts.conftest import (
    PASSWORD,
    SMTP_PASSWORD,
    SMTP_USER,
    sign_in,
    totp_code,
)
from tests.accounts.test_twofactor import enrol
from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    message_bytes,
    worker,
)
from webmail.engine import bodies as worker_bodies
from webmail.engine import connections, folderlist, sync, tasks
from webmail.imap import ImapError
from webmail.mail import bodies
from webmail.models import Folder
from webmail.shared.routing import queue_for

WRONG_PASSWORD = "wrong-signin-secret-4711"
WRONG_MAIL_PASSWORD = "wrong-mail-secret-4712"
WRONG_SMTP_PASSWORD = "wrong-smtp-secret-4713"
BODY = "The vault code is canary-body-4714, keep it to yourself."


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every logger at DEBUG, as with LOG_LEVEL=DEBUG and more; restored after.

    Only the loggers that settings.LOGGING names keep what it gives them:
    those are the project's own decisions about what may be logged.
    """
    caplog.set_level(logging.DEBUG)
    configured: tuple[str, ...] = tuple(settings.LOGGING.get("loggers", {}))
    saved = []
    for name in list(logging.root.manager.loggerDict):
        if name in configured or name.startswith(tuple(f"{c}." for c in configured)):
            continue
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate, logger.disabled))
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.disabled = False
    try:
        yield
    finally:
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def logged(caplog: pytest.LogCaptureFixture, *, but: tuple[str, ...] = ()) -> str:
    """Everything logged, messages and arguments, except by the named loggers."""
    lines = []
    for record in caplog.records:
        if record.name.startswith(but):
            continue
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        if record.exc_text:
            lines.append(record.exc_text)
    return "\n".join(lines)


def assert_absent(text: str, secrets: list[str]) -> None:
    assert text, "nothing was logged: the search would prove nothing"
    for secret in secrets:
        assert secret not in text, f"{secret!r} was logged"


@pytest.mark.django_db
@pytest.mark.usefixtures("everything_logged")
def test_signing_in_with_two_factor_logs_no_secret(
    alice: User, caplog: pytest.LogCaptureFixture
):
    client = Client()
    sign_in(client, "alice", WRONG_PASSWORD)
    sign_in(client, "alice")
    codes = enrol(client, alice)
    device = EncryptedTOTPDevice.objects.get(user=alice, confirmed=True)
    client.post("/accounts/logout/")

    later = Client()
    sign_in(later, "alice")
    pending_key = later.session.session_key
    code = totp_code(device, 1)
    assert later.post("/accounts/login/code/", {"code": code}).status_code == 302
    recovery = Client()
    sign_in(recovery, "alice")
    recovery.post("/accounts/login/code/", {"code": codes[0]})
    assert recovery.get("/").status_code == 200
    wrong = Client()
    sign_in(wrong, "alice")
    page = wrong.post("/accounts/login/code/", {"code": "246810"}).content.decode()
    assert "That code is not right" in page

    secrets = [
        WRONG_PASSWORD,
        PASSWORD,
        "mail-secret-of-alice",
        code,
        *codes,
        device.key,
        base64.b32encode(device.bin_key).decode().rstrip("="),
        str(pending_key),
        str(later.session.session_key),
        str(recovery.session.session_key),
        *(c.code_encrypted for c in RecoveryCode.objects.all()),
    ]
    assert_absent(logged(caplog), secrets)


@pytest.mark.django_db
@pytest.mark.usefixtures("everything_logged")
def test_setting_up_a_mail_account_logs_no_password(
    alice: User,
    imap_user,
    submission_server,
    mail_certs,
    settings,
    caplog: pytest.LogCaptureFixture,
):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    settings.MAIL_CA_FILE = str(mail_certs.ca_cert)
    client = Client()
    sign_in(client, "alice")
    fields = {
        "action": "save",
        "email": imap_user.address,
        "imap_host": imap_user.server.host,
        "imap_port": imap_user.server.imap_port,
        "smtp_host": submission_server.host,
        "smtp_port": submission_server.port,
        "smtp_username": SMTP_USER,
    }
    # A failed IMAP login, a failed SMTP login, then settings that work.
    wrong_imap = {**fields, "imap_password": WRONG_MAIL_PASSWORD}
    page = client.post("/accounts/mail/add/", wrong_imap).content.decode()
    assert "refused the username or password" in page
    wrong_smtp = {
        **fields,
        "imap_password": imap_user.password,
        "smtp_password": WRONG_SMTP_PASSWORD,
    }
    page = client.post("/accounts/mail/add/", wrong_smtp).content.decode()
    assert "refused the username or password" in page
    right = {**fields, "imap_password": imap_user.password}
    right["smtp_password"] = SMTP_PASSWORD
    assert client.post("/accounts/mail/add/", right).status_code == 302
    account = alice.mail_accounts.get(email=imap_user.address)
    client.post(f"/accounts/mail/{account.id}/test/")

    secrets = [
        PASSWORD,
        WRONG_MAIL_PASSWORD,
        imap_user.password,
        WRONG_SMTP_PASSWORD,
        SMTP_PASSWORD,
        # SMTP AUTH sends the password in base64.
        base64.b64encode(SMTP_PASSWORD.encode()).decode(),
        base64.b64encode(WRONG_SMTP_PASSWORD.encode()).decode(),
    ]
    # aiosmtpd, the stand-in SMTP server running in this process, logs the
    # conversation it receives; that is the test server's log, not ours.
    assert_absent(logged(caplog, but=("mail.log",)), secrets)


@pytest.fixture
def read_mail(
    imap_user,
    other_device,
    worker,  # noqa: F811 (the fixture imported above)
) -> Iterator[Callable[[], None]]:
    """Open a message in this process and through the worker, and fail a login."""
    phone = other_device(imap_user)
    phone.append("INBOX", message_bytes("Quarterly plan", BODY + "\n"))
    account = account_for(imap_user)
    wrong = account_for(imap_user, password=WRONG_MAIL_PASSWORD)

    def read() -> None:
        connections.close_pool()  # no connection left by an earlier test's ids
        folderlist.sync_folder_list(account.id)
        inbox = Folder.objects.get(account=account, name="INBOX")
        sync.sync_folder(account.id, inbox.id)
        assert BODY in worker_bodies.load_body(account.id, inbox.id, 1)["text"]
        through_worker = bodies.fetch_through_worker(account.id, inbox.id, 1, 30)
        assert BODY in through_worker["text"]
        with pytest.raises(ImapError):
            folderlist.sync_folder_list(wrong.id)
        queue = queue_for(wrong.id)
        tasks.sync.apply_async((wrong.id,), queue=queue).get(timeout=30)

    yield read


READING_SECRETS = ["canary-body-4714", WRONG_MAIL_PASSWORD]


# redis-py logs every message its clients receive at DEBUG ("push_response"),
# Celery's results among them: a fetched body is one. settings.LOGGING holds
# that logger at INFO.
@pytest.mark.django_db(transaction=True)
def test_reading_mail_logs_no_content_in_the_web_process(
    imap_user, read_mail, everything_logged, caplog
):
    read_mail()
    assert_absent(logged(caplog), [*READING_SECRETS, imap_user.password])


# Celery logs each task's return value at INFO ("Task ... succeeded in 0.3s:
# {...}") unless told not to (webmail/celery.py): fetch_body returns the body.
@pytest.mark.django_db(transaction=True)
def test_reading_mail_leaves_no_content_in_the_worker_log(
    imap_user,
    read_mail,
    worker,  # noqa: F811 (the fixture imported above)
):
    start = worker.log_path.stat().st_size
    read_mail()
    with worker.log_path.open(errors="replace") as log:
        log.seek(start)
        worker_log = log.read()
    assert "fetch_body" in worker_log  # the worker's log is being written
    assert_absent(worker_log, [*READING_SECRETS, imap_user.password])
