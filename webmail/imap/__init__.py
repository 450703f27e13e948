"""The IMAP protocol facade: the only package that imports imapclient.

connect() opens a logged-in ImapSession; ConnectionPool lends sessions to
threads under a per-account connection cap. Everything returned is a frozen
dataclass from webmail.imap.types; everything raised is an ImapError from
webmail.imap.errors, which says whether a retry can help.
"""

from webmail.imap.connect import (
    Security,
    connect,
    fetch_certificate,
    fingerprint_of,
    normalise_fingerprint,
    tls_context,
    unverified_context,
)
from webmail.imap.errors import (
    AuthenticationFailed,
    CharsetRefused,
    CommandFailed,
    ConnectionLost,
    FolderMissing,
    ImapError,
    MessageMissing,
    OverQuota,
    PoolExhausted,
    ServerUnreachable,
    Timeout,
    TlsError,
    UnknownEncoding,
)
from webmail.imap.messages import SearchText
from webmail.imap.parse import encode_folder_name, folder_name_from_parts
from webmail.imap.pool import ConnectionPool, ConnectSettings
from webmail.imap.session import ImapSession

__all__ = [
    "AuthenticationFailed",
    "CharsetRefused",
    "CommandFailed",
    "ConnectSettings",
    "ConnectionLost",
    "ConnectionPool",
    "FolderMissing",
    "ImapError",
    "ImapSession",
    "MessageMissing",
    "OverQuota",
    "PoolExhausted",
    "SearchText",
    "Security",
    "ServerUnreachable",
    "Timeout",
    "TlsError",
    "UnknownEncoding",
    "connect",
    "encode_folder_name",
    "fetch_certificate",
    "fingerprint_of",
    "folder_name_from_parts",
    "normalise_fingerprint",
    "tls_context",
    "unverified_context",
]
