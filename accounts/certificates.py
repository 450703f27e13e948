"""Mail servers' certificates that an operator has checked and trusts.

A server whose certificate no trusted CA signed (self-signed, or a private
CA) cannot be used until someone decides to trust it. The user sees the
certificate that failed (its fingerprint, subject, issuer and dates); an
operator may trust it for that host. Connections to the host then accept
exactly the certificates trusted for it (and a mail account's own pinned
one), by SHA-256 fingerprint, and no other: a replaced certificate is
refused until an operator checks it. Never a global "ignore".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from django.http import HttpRequest

from accounts import audit
from accounts.models import AuditKind, TrustedCertificate, User
from webmail import imap


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate a server presented, and where."""

    host: str
    port: int
    security: str
    # "imap" or "smtp": how to read it again.
    protocol: str
    sha256: str
    subject: str
    issuer: str
    not_before: datetime | None
    not_after: datetime | None

    @property
    def fingerprint(self) -> str:
        """The fingerprint as people compare it: AB:CD:…"""
        pairs = (self.sha256[i : i + 2] for i in range(0, len(self.sha256), 2))
        return ":".join(pairs).upper()


def describe(
    der: bytes, host: str, port: int, security: str, protocol: str
) -> CertificateInfo:
    """Read what a person checks from a certificate in DER form."""
    sha256 = imap.fingerprint_of(der)
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return CertificateInfo(
            host, port, security, protocol, sha256, "", "", None, None
        )
    return CertificateInfo(
        host,
        port,
        security,
        protocol,
        sha256,
        cert.subject.rfc4514_string(),
        cert.issuer.rfc4514_string(),
        cert.not_valid_before_utc,
        cert.not_valid_after_utc,
    )


def fingerprints_for(host: str, pinned: str = "") -> tuple[str, ...]:
    """The certificates a connection to host accepts; empty: any a CA signed."""
    trusted = TrustedCertificate.objects.filter(host=host.lower()).values_list(
        "sha256", flat=True
    )
    return tuple(dict.fromkeys([*([pinned] if pinned else []), *trusted]))


def trust(info: CertificateInfo, by: User, request: HttpRequest) -> TrustedCertificate:
    """Trust a certificate for its host, and say so in the audit log."""
    trusted, _created = TrustedCertificate.objects.get_or_create(
        host=info.host.lower(),
        sha256=info.sha256,
        defaults={
            "subject": info.subject[:500],
            "issuer": info.issuer[:500],
            "not_after": info.not_after,
            "trusted_by": by,
        },
    )
    audit.record(
        AuditKind.CERTIFICATE_TRUSTED,
        request=request,
        user=by,
        actor=by,
        detail=f"{info.host} {info.sha256}",
    )
    return trusted


def distrust(trusted: TrustedCertificate, by: User, request: HttpRequest) -> None:
    """Stop trusting a certificate; connections to its host check it again."""
    audit.record(
        AuditKind.CERTIFICATE_TRUSTED,
        request=request,
        user=by,
        actor=by,
        detail=f"{trusted.host} {trusted.sha256} no longer trusted",
    )
    trusted.delete()
