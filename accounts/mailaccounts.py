"""Setting up a user's mail account: presets, testing, saving.

A user types the four things a provider tells them (server, port, user
name, password) for IMAP and SMTP, or, where an admin preset the servers
for their mail domain, only an address and a password. Settings are saved
only once a test sign-in worked, with the security that worked.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts import audit, mailservers
from accounts.models import AuditKind, MailAccount, MailDomain, User


@dataclass
class ServerSettings:
    """What a user typed for one server; port None means "find it"."""

    host: str
    port: int | None
    username: str
    password: str


@dataclass
class TestOutcome:
    """The results of testing IMAP and (if given) SMTP."""

    imap: mailservers.ProbeResult
    smtp: mailservers.ProbeResult | None

    @property
    def ok(self) -> bool:
        return self.imap.ok and (self.smtp is None or self.smtp.ok)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().lower()


def preset_for(address: str) -> MailDomain | None:
    """Return the admin's server preset for the address's domain, if any."""
    domain = domain_of(address)
    if not domain:
        return None
    return MailDomain.objects.filter(domain=domain).first()


def settings_from_preset(
    preset: MailDomain, address: str, password: str
) -> tuple[ServerSettings, ServerSettings | None]:
    """Fill in server settings from a preset: the login is the address."""
    imap_settings = ServerSettings(
        preset.imap_host, preset.imap_port, address, password
    )
    smtp_settings = None
    if preset.smtp_host:
        smtp_settings = ServerSettings(
            preset.smtp_host, preset.smtp_port, address, password
        )
    return imap_settings, smtp_settings


def test_settings(
    imap_settings: ServerSettings,
    smtp_settings: ServerSettings | None,
    fingerprint: str = "",
) -> TestOutcome:
    """Try both servers, each on its own, so the page says which works."""
    imap_result = mailservers.probe_imap(
        imap_settings.host,
        imap_settings.port,
        imap_settings.username,
        imap_settings.password,
        fingerprint,
    )
    smtp_result = None
    if smtp_settings is not None:
        smtp_result = mailservers.probe_smtp(
            smtp_settings.host,
            smtp_settings.port,
            smtp_settings.username,
            smtp_settings.password,
        )
    return TestOutcome(imap_result, smtp_result)


def test_account(account: MailAccount) -> TestOutcome:
    """Try an account's stored settings exactly as saved."""
    host = account.imap_host
    result = mailservers.ProbeResult(host)
    if mailservers.host_passes(result, account.imap_port, account.imap_security):
        attempt = mailservers.try_imap_once(
            host,
            account.imap_port,
            account.imap_security,
            account.imap_username,
            account.imap_password,
            account.tls_fingerprint,
        )
        result.attempts.append(attempt)
    smtp_result = None
    if account.smtp_host:
        smtp_result = mailservers.ProbeResult(account.smtp_host)
        if mailservers.host_passes(
            smtp_result, account.smtp_port, account.smtp_security
        ):
            smtp_result.attempts.append(
                mailservers.try_smtp_once(
                    account.smtp_host,
                    account.smtp_port,
                    account.smtp_security,
                    account.smtp_username or account.imap_username,
                    account.smtp_password,
                )
            )
    return TestOutcome(result, smtp_result)


@transaction.atomic
def save_account(
    user: User,
    email: str,
    imap_settings: ServerSettings,
    smtp_settings: ServerSettings | None,
    outcome: TestOutcome,
    account: MailAccount | None = None,
) -> MailAccount:
    """Store settings that passed the test, with the ports that worked."""
    imap_ok = outcome.imap.working
    if imap_ok is None:
        raise ValueError("Only settings that passed the test are saved.")
    if account is None:
        account = MailAccount(user=user)
    account.email = email
    account.imap_host = outcome.imap.host
    account.imap_port = imap_ok.port
    account.imap_security = imap_ok.security
    account.imap_username = imap_settings.username
    account.imap_password = imap_settings.password
    smtp_ok = outcome.smtp.working if outcome.smtp else None
    if smtp_settings is not None and smtp_ok is not None and outcome.smtp:
        account.smtp_host = outcome.smtp.host
        account.smtp_port = smtp_ok.port
        account.smtp_security = smtp_ok.security
        account.smtp_username = smtp_settings.username
        # The model falls back to the IMAP password when this is empty.
        same = smtp_settings.password == imap_settings.password
        account.smtp_password = "" if same else smtp_settings.password
    elif smtp_settings is None:
        account.smtp_host = ""
        account.smtp_username = ""
        account.smtp_password = ""
    account.save()
    audit.record(
        AuditKind.MAIL_ACCOUNT_CHANGED,
        user=user,
        detail=f"{email} on {account.imap_host}:{account.imap_port}",
    )
    return account


def delete_account(account: MailAccount) -> None:
    audit.record(
        AuditKind.MAIL_ACCOUNT_CHANGED,
        user=account.user,
        detail=f"{account.email} removed",
    )
    account.delete()
