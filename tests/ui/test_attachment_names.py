"""Padding in an attachment's name cannot hide its real extension.

"invoice.pdf<many spaces>.exe" is a program that a cut-off name shows as a
PDF. Through a real Dovecot and worker: the reading pane and the download.
"""

from __future__ import annotations

import html
import re

import pytest

from tests.engine.conftest import (  # noqa: F401 (fixtures)
    account_for,
    engine_env,
    engine_settings,
    worker,
)
from tests.ui.test_pdf_preview import (  # noqa: F401 (fixture)
    _patient_body_timeout,
    content,
    mail,
    synced,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("worker"),
]

EXE = "application/octet-stream"


def links(page: str) -> dict[str, str]:
    """Return the attachment links of a page: href -> the name shown."""
    found = re.findall(r'<a href="([^"]*/part/[^"]*)" download>([^<]*)</a>', page)
    return {href: html.unescape(text) for href, text in found}


def test_the_real_extension_shows_after_padding(imap_user, other_device):
    underscores = "statement.pdf" + "_" * 60 + ".exe"
    other_device(imap_user).append(
        "INBOX",
        mail(
            "Invoices",
            [
                ("invoice.pdf" + " " * 60 + ".exe", EXE, b"MZ one"),
                ("receipt.pdf" + "\u3000" * 40 + ".exe", EXE, b"MZ two"),
                ("bill.pdf" + "\u00a0\u3164\u2800" * 20 + ".exe", EXE, b"MZ three"),
                (underscores, EXE, b"MZ four"),
            ],
        ),
    )
    account, inbox, client = synced(imap_user)
    base = f"/mail/{account.id}/{inbox.id}/1/"

    # Shown as saved: padding of any kind is one space, the end is kept.
    expected = {
        "2": ("invoice.pdf .exe", b"MZ one"),
        "3": ("receipt.pdf .exe", b"MZ two"),
        "4": ("bill.pdf .exe", b"MZ three"),
        "5": (underscores, b"MZ four"),
    }
    shown = links(client.get(base).content.decode())
    assert shown == {f"{base}part/{p}": name for p, (name, _) in expected.items()}
    for part, (name, data) in expected.items():
        response = client.get(f"{base}part/{part}")
        assert response["Content-Disposition"] == f'attachment; filename="{name}"'
        assert content(response) == data
