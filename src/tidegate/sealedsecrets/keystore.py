"""Sealing keys on a cluster: read the key Secrets, create a new key when one is due (I/O).

The private key is read into memory to unseal and never leaves it: nothing here logs, returns
in an error or prints a key; :func:`certificates_pem` gives only public certificates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.sealedsecrets import keys, names

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class KeyPolicy:
    """Where keys live and how they are made (the controller's ``--key-*`` flags)."""

    namespace: str = names.CONTROLLER_NAMESPACE
    prefix: str = names.KEY_PREFIX
    size: int = names.KEY_SIZE
    renew_period: datetime.timedelta = datetime.timedelta(days=names.KEY_RENEW_DAYS)
    common_name: str = ""


def selector() -> str:
    return f"{names.LABEL_KEY}={names.LABEL_KEY_ACTIVE}"


async def read_keys(
    client: kube_client.KubeClient, namespace: str
) -> tuple[list[keys.SealingKey], list[str]]:
    """The active keys in ``namespace``, newest first, and a line per unreadable key Secret."""
    res = await client.resource("", "Secret", "v1")
    listed = await client.list(res, namespace=namespace, label_selector=selector())
    return keys.read_active(listed.items)


async def create_key(client: kube_client.KubeClient, policy: KeyPolicy) -> keys.SealingKey:
    """Generate a key pair and store it as a new key Secret; returns it with its given name."""
    private = await asyncio.to_thread(keys.generate_private_key, policy.size)
    cert = keys.self_signed_certificate(private, common_name=policy.common_name)
    secret = keys.key_secret(private, cert, namespace=policy.namespace, prefix=policy.prefix)
    created = await client.create(secret)
    name = str((created.get("metadata") or {}).get("name") or "")
    log.info("sealed secrets: new key %s/%s generated", policy.namespace, name)
    return keys.SealingKey(name, private, cert)


async def ensure_key(
    client: kube_client.KubeClient, policy: KeyPolicy, *, now: datetime.datetime | None = None
) -> list[keys.SealingKey]:
    """The active keys, after creating a new one if none exists or the newest is due."""
    found, problems = await read_keys(client, policy.namespace)
    for problem in problems:
        log.warning("sealed secrets: %s (skipped)", problem)
    when = now or datetime.datetime.now(datetime.UTC)
    if keys.due_for_renewal(found, now=when, period=policy.renew_period):
        found = [await create_key(client, policy), *found]
    return found


async def certificates_pem(client: kube_client.KubeClient, namespace: str) -> bytes:
    """The newest active key's certificate, PEM (what ``/v1/cert.pem`` serves)."""
    found, _problems = await read_keys(client, namespace)
    latest = keys.newest(found)
    if latest is None:
        raise errors.KubeNotFoundError(
            f"no active sealing key in namespace {namespace} on cluster {client.name} "
            f"(Secrets labelled {selector()})",
            code=404,
        )
    return keys.certificate_pem(latest.certificate)


def describe(found: list[keys.SealingKey]) -> list[dict[str, Any]]:
    """Public facts about keys (name, NotBefore), for logs and tables."""
    return [{"name": k.name, "notBefore": k.not_before.isoformat()} for k in found]
