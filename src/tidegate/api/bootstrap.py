"""What the server keeps in the control namespace's Secrets, created on first start as Argo CD does.

- ``argocd-secret``: ``server.secretkey`` (32 random bytes, the JWT signing key),
  ``admin.password`` (bcrypt) and ``admin.passwordMtime`` (RFC 3339), ``tls.crt``/``tls.key``
  (a generated self-signed certificate unless ``argocd-server-tls`` provides one).
- ``argocd-initial-admin-secret``: ``password``, the generated initial admin password, written
  only when ``admin.password`` was empty.

Two servers starting together do not overwrite each other: creates that meet an existing object
re-read it, and updates carry the resourceVersion they were based on. Nothing here logs a value.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import logging
import time
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tidegate.auth import passwords
from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger(__name__)

ARGOCD_SECRET = "argocd-secret"
INITIAL_ADMIN_SECRET = "argocd-initial-admin-secret"
SERVER_TLS_SECRET = "argocd-server-tls"
KEY_SECRET_KEY = "server.secretkey"
KEY_ADMIN_PASSWORD = "admin.password"
KEY_ADMIN_MTIME = "admin.passwordMtime"
LABELS = {"app.kubernetes.io/part-of": "argocd"}
REFRESH_SECONDS = 5.0


def _decode(secret: Mapping[str, Any] | None) -> dict[str, bytes]:
    data = (secret or {}).get("data") or {}
    return {k: base64.b64decode(v) for k, v in data.items() if isinstance(v, str)}


def _secret(name: str, namespace: str, data: Mapping[str, bytes], **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
        "data": {k: base64.b64encode(v).decode() for k, v in data.items()},
        **extra,
    }


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class AccountSecrets:
    """What login and token checks need from ``argocd-secret`` (never logged, never returned)."""

    signing_key: bytes
    admin_hash: str | None
    admin_mtime: datetime.datetime | None

    def __repr__(self) -> str:
        return "AccountSecrets(<hidden>)"


def _accounts(data: Mapping[str, bytes]) -> AccountSecrets:
    mtime = data.get(KEY_ADMIN_MTIME)
    return AccountSecrets(
        signing_key=data.get(KEY_SECRET_KEY, b""),
        admin_hash=data[KEY_ADMIN_PASSWORD].decode() if data.get(KEY_ADMIN_PASSWORD) else None,
        admin_mtime=parse_rfc3339(mtime.decode()) if mtime else None,
    )


class SecretStore:
    """``argocd-secret`` of one control namespace, read through a short cache."""

    def __init__(self, client: kube_client.KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self._cached: AccountSecrets | None = None
        self._read_at = 0.0

    def _key(self, name: str) -> ResourceKey:
        return ResourceKey("", "Secret", self.namespace, name)

    async def read(self, name: str) -> dict[str, Any] | None:
        return await self.client.get_or_none(self._key(name))

    async def accounts(self) -> AccountSecrets:
        """The signing key and admin hash, re-read at most every few seconds."""
        if self._cached is None or time.monotonic() - self._read_at > REFRESH_SECONDS:
            self._cached = _accounts(_decode(await self.read(ARGOCD_SECRET)))
            self._read_at = time.monotonic()
        return self._cached

    def forget(self) -> None:
        """Drop the cache: the next check reads ``argocd-secret`` again."""
        self._cached = None

    async def _create_or_read(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        name = obj["metadata"]["name"]
        try:
            return await self.client.create(obj)
        except errors.KubeConflictError:
            found = await self.read(name)
            if found is None:
                raise
            return found

    async def _update_keys(self, secret: Mapping[str, Any], add: Mapping[str, bytes]) -> None:
        """Add keys to a Secret, based on the version read (409 if someone changed it)."""
        patch = {
            "metadata": {"resourceVersion": secret["metadata"]["resourceVersion"]},
            "data": {k: base64.b64encode(v).decode() for k, v in add.items()},
        }
        await self.client.patch(self._key(secret["metadata"]["name"]), patch)

    async def ensure(self, *, tls: bool, hostnames: tuple[str, ...]) -> tuple[bytes, bytes] | None:
        """Create what is missing; the (certificate, key) PEMs to serve when ``tls``."""
        for _ in range(5):
            secret = await self.read(ARGOCD_SECRET) or await self._create_or_read(
                _secret(ARGOCD_SECRET, self.namespace, {}, type="Opaque")
            )
            data = _decode(secret)
            add: dict[str, bytes] = {}
            if not data.get(KEY_SECRET_KEY):
                import secrets

                add[KEY_SECRET_KEY] = secrets.token_bytes(32)
            if not data.get(KEY_ADMIN_PASSWORD):
                password = passwords.generate_password()
                await self._write_initial_password(password)
                add[KEY_ADMIN_PASSWORD] = passwords.hash_password(password).encode()
                add[KEY_ADMIN_MTIME] = now_rfc3339().encode()
            own_tls = await self.read(SERVER_TLS_SECRET) if tls else None
            if tls and own_tls is None and not (data.get("tls.crt") and data.get("tls.key")):
                cert, key = self_signed(hostnames)
                add["tls.crt"], add["tls.key"] = cert, key
            if add:
                try:
                    await self._update_keys(secret, add)
                except errors.KubeConflictError:
                    continue
                if KEY_ADMIN_PASSWORD in add:
                    log.info(
                        "generated the initial admin password into Secret %s/%s (key 'password')",
                        self.namespace,
                        INITIAL_ADMIN_SECRET,
                    )
                data.update(add)
            self._cached = None
            if not tls:
                return None
            pair = _decode(own_tls) if own_tls is not None else data
            return pair["tls.crt"], pair["tls.key"]
        raise errors.TemporaryError(f"Secret {self.namespace}/{ARGOCD_SECRET} keeps changing")

    async def _write_initial_password(self, password: str) -> None:
        found = await self.read(INITIAL_ADMIN_SECRET)
        data = {"password": password.encode()}
        if found is None:
            await self.client.create(_secret(INITIAL_ADMIN_SECRET, self.namespace, data))
        else:
            await self._update_keys(found, data)


def self_signed(hostnames: tuple[str, ...]) -> tuple[bytes, bytes]:
    """A self-signed server certificate (ECDSA P-256, one year) and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tidegate"),
            x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0] if hostnames else "localhost"),
        ]
    )
    alt: list[x509.GeneralName] = []
    for host in hostnames or ("localhost",):
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alt.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
