"""Sealing keys as the Sealed Secrets controller keeps them (pure: builds and reads dicts).

A key is a Secret of type ``kubernetes.io/tls`` in the controller's namespace, labelled
``sealedsecrets.bitnami.com/sealed-secrets-key: active``, named from ``generateName:
sealed-secrets-key``, holding ``tls.key`` (PKCS#1 RSA PEM) and ``tls.crt`` (a self-signed
certificate: empty subject unless a common name is given, valid 10 years). The newest key (by the
certificate's NotBefore) seals; every active key unseals. Messages never include key material.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tidegate.model import errors
from tidegate.sealedsecrets import names


class KeyMaterialError(errors.PermanentError):
    """A key Secret or certificate cannot be read; the message names it, never its content."""


@dataclasses.dataclass(frozen=True)
class SealingKey:
    """One key pair read from its Secret (``name`` is the Secret's name)."""

    name: str
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def not_before(self) -> datetime.datetime:
        return self.certificate.not_valid_before_utc

    def __repr__(self) -> str:  # never print the private key
        return f"SealingKey({self.name!r}, not_before={self.not_before.isoformat()})"


def generate_private_key(bits: int = names.KEY_SIZE) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def self_signed_certificate(
    key: rsa.RSAPrivateKey,
    *,
    common_name: str = "",
    valid_for: datetime.timedelta = datetime.timedelta(days=names.KEY_TTL_DAYS),
    now: datetime.datetime | None = None,
) -> x509.Certificate:
    """A certificate for ``key`` like the controller's: self-issued, CA, SHA-256 signed."""
    start = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + valid_for)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


def private_key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 ``RSA PRIVATE KEY`` PEM, the form ``tls.key`` holds."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_secret(
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    *,
    namespace: str,
    prefix: str = names.KEY_PREFIX,
) -> dict[str, Any]:
    """The Secret to create for a new key (``generateName``: the API server picks the suffix)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "generateName": prefix,
            "namespace": namespace,
            "labels": {names.LABEL_KEY: names.LABEL_KEY_ACTIVE},
        },
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(certificate_pem(cert)), "tls.key": b64(private_key_pem(key))},
    }


def load_certificate(pem: bytes, *, source: str) -> x509.Certificate:
    """The first certificate of a PEM document (``--cert``, ``/v1/cert.pem``)."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise KeyMaterialError(f"{source}: not a PEM certificate") from None


def public_key_of(cert: x509.Certificate, *, source: str) -> rsa.RSAPublicKey:
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise KeyMaterialError(f"{source}: the certificate's key is not an RSA key")
    return public


def load_private_keys(pem: bytes, *, source: str) -> list[rsa.RSAPrivateKey]:
    """Every private key in a PEM file (``--recovery-private-key``: one or more keys)."""
    found: list[rsa.RSAPrivateKey] = []
    marker = b"-----BEGIN "
    for chunk in pem.split(marker)[1:]:
        block = marker + chunk
        if b"PRIVATE KEY-----" not in block.split(b"\n", 1)[0]:
            continue
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError):
            raise KeyMaterialError(f"{source}: a private key block cannot be read") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyMaterialError(f"{source}: a private key is not an RSA key")
        found.append(key)
    if not found:
        raise KeyMaterialError(f"{source}: no PEM private key found")
    return found


def from_secret(secret: Mapping[str, Any]) -> SealingKey:
    """Read one key Secret (``tls.key`` and ``tls.crt``)."""
    meta = secret.get("metadata") or {}
    where = f"key Secret {meta.get('namespace', '')}/{meta.get('name', '')}"
    data = secret.get("data") or {}
    try:
        key_pem = base64.b64decode(str(data.get("tls.key") or ""), validate=True)
        crt_pem = base64.b64decode(str(data.get("tls.crt") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"{where}: tls.key or tls.crt is not base64") from None
    if not key_pem or not crt_pem:
        raise KeyMaterialError(f"{where}: tls.key and tls.crt are required")
    keys = load_private_keys(key_pem, source=where)
    cert = load_certificate(crt_pem, source=where)
    return SealingKey(str(meta.get("name") or ""), keys[0], cert)


def read_active(secrets: Iterable[Mapping[str, Any]]) -> tuple[list[SealingKey], list[str]]:
    """The usable keys among labelled Secrets, newest first, and a problem line per bad one."""
    usable: list[SealingKey] = []
    problems: list[str] = []
    for secret in secrets:
        labels = (secret.get("metadata") or {}).get("labels") or {}
        if labels.get(names.LABEL_KEY) != names.LABEL_KEY_ACTIVE:
            continue
        try:
            usable.append(from_secret(secret))
        except KeyMaterialError as exc:
            problems.append(str(exc))
    usable.sort(key=lambda k: (k.not_before, k.name), reverse=True)
    return usable, problems


def newest(keys: Sequence[SealingKey]) -> SealingKey | None:
    return max(keys, key=lambda k: (k.not_before, k.name), default=None)


def due_for_renewal(
    keys: Sequence[SealingKey],
    *,
    now: datetime.datetime,
    period: datetime.timedelta = datetime.timedelta(days=names.KEY_RENEW_DAYS),
) -> bool:
    """True when there is no key, or the newest is older than the renewal period (0: never)."""
    latest = newest(keys)
    if latest is None:
        return True
    return period > datetime.timedelta(0) and now - latest.not_before >= period
