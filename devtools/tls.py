"""Throwaway TLS certificates for local mail servers.

A private CA signs one server certificate valid for 127.0.0.1, 127.0.0.2,
::1 and localhost. Clients trust the CA file, exactly as they would trust a private
CA in production, so certificate checking stays on in the demo and tests.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT_NAME = "ca.pem"
SERVER_CERT_NAME = "server.pem"
SERVER_KEY_NAME = "server.key"
VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class CertPaths:
    """Where the CA certificate and the server certificate and key live."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Webmail development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def generate_certificates(directory: Path) -> CertPaths:
    """Write a new CA and a server certificate signed by it into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    # Back-dated a little so clocks that disagree by minutes still accept it.
    not_before = now - datetime.timedelta(hours=1)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Webmail development CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.2")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    paths = CertPaths(
        ca_cert=directory / CA_CERT_NAME,
        server_cert=directory / SERVER_CERT_NAME,
        server_key=directory / SERVER_KEY_NAME,
    )
    paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.server_key.touch(mode=0o600)
    paths.server_key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def ensure_certificates(directory: Path) -> CertPaths:
    """Reuse the certificates in directory, or make them if any is missing.

    Keeping them across runs keeps a CA file that was handed to clients
    (the demo's MAIL_CA_FILE) valid.
    """
    paths = CertPaths(
        ca_cert=directory / CA_CERT_NAME,
        server_cert=directory / SERVER_CERT_NAME,
        server_key=directory / SERVER_KEY_NAME,
    )
    if all(p.exists() for p in (paths.ca_cert, paths.server_cert, paths.server_key)):
        return paths
    return generate_certificates(directory)


def fingerprint_of_der(der: bytes) -> str:
    """Return the SHA-256 fingerprint of a DER certificate as lowercase hex.

    ssl.SSLSocket.getpeercert(binary_form=True) gives DER, so a client can
    compare what a server presents with a fingerprint the user trusted.
    """
    return hashlib.sha256(der).hexdigest()


def cert_fingerprint(cert_pem_path: Path) -> str:
    """Return the SHA-256 fingerprint (lowercase hex) of a PEM certificate file."""
    cert = x509.load_pem_x509_certificate(cert_pem_path.read_bytes())
    return fingerprint_of_der(cert.public_bytes(serialization.Encoding.DER))
