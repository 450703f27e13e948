"""Tests of webmail.imap against the real test Dovecots, and their helpers."""

from __future__ import annotations

from email.message import EmailMessage

from tests.fixtures.servers import ImapUser
from webmail.imap import ImapSession, connect


def open_session(user: ImapUser, **options) -> ImapSession:
    """Log in as user over STARTTLS, trusting the test CA."""
    server = user.server
    options.setdefault("security", "starttls")
    port = server.imaps_port if options["security"] == "ssl" else server.imap_port
    return connect(
        server.host,
        options.pop("port", port),
        username=user.username,
        password=options.pop("password", user.password),
        ca_file=options.pop("ca_file", str(server.ca_cert_path)),
        timeout=options.pop("timeout", 10.0),
        **options,
    )


def message(
    subject: str = "Hello",
    body: str = "Just a line.\n",
    *,
    sender: str = "Alice Example <alice@example.org>",
    to: str = "bob@example.org",
    attachment: bytes | None = None,
    filename: str = "report.pdf",
    references: str | None = None,
) -> bytes:
    """Return a small RFC 5322 message as bytes."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = "Sat, 28 Nov 2026 10:00:00 +0900"
    msg["Message-ID"] = f"<{abs(hash(subject))}@example.org>"
    if references:
        msg["References"] = references
        msg["In-Reply-To"] = references.split()[-1]
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(
            attachment, maintype="application", subtype="pdf", filename=filename
        )
    return msg.as_bytes()
