"""The account error as the reader sees it, in the reader's language.

The IMAP facade words its errors in English, and the worker that records
them knows nothing of who will read them. AccountState keeps the error's
class name beside the text, so the page can say the common ones again in
the language of the request. Other kinds keep the recorded text: it may
carry the server's own words, which no catalogue can translate.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from accounts.models import MailAccount

SENTENCES = {
    "AuthenticationFailed": _("%(host)s refused the username or password."),
    "ServerUnreachable": _("%(host)s cannot be reached."),
    "TlsError": _("The certificate of %(host)s could not be verified."),
    "Timeout": _("%(host)s did not answer in time."),
    "ConnectionLost": _("The connection to %(host)s was lost."),
    "OverQuota": _("The mailbox on %(host)s is full."),
}


def shown_error(account: MailAccount, kind: str, text: str) -> str:
    """Return the recorded error of the account worded for the current reader."""
    sentence = SENTENCES.get(kind)
    if sentence is None:
        return text
    return str(sentence) % {"host": account.imap_host}
