"""Staged apply: definitions first (Namespaces, CRDs), wait until CRDs are established, then
everything else, so custom resources never race their definitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.kube import apply as kube_apply
from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

CRD_GROUP = "apiextensions.k8s.io"
DEFINITION_KINDS = frozenset({("", "Namespace"), (CRD_GROUP, "CustomResourceDefinition")})


def is_definition(obj: Mapping[str, Any]) -> bool:
    key = ResourceKey.of(obj)
    return (key.group, key.kind) in DEFINITION_KINDS


def crd_established(crd: Mapping[str, Any]) -> bool:
    for cond in (crd.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Established":
            return bool(cond.get("status") == "True")
    return False


async def wait_established(
    client: kube_client.KubeClient,
    names: Sequence[str],
    *,
    wait_seconds: float = 60.0,
    interval: float = 0.2,
) -> None:
    """Poll the CRDs until all are Established; a :class:`KubeError` names those that are not."""
    pending = list(names)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while pending:
        crds = await asyncio.gather(
            *(
                client.get(ResourceKey(CRD_GROUP, "CustomResourceDefinition", "", n))
                for n in pending
            )
        )
        pending = [n for n, crd in zip(pending, crds, strict=True) if not crd_established(crd)]
        if not pending:
            break
        if loop.time() >= deadline:
            raise errors.KubeError(
                f"CustomResourceDefinitions not established on cluster {client.name} "
                f"after {wait_seconds:.0f}s: {', '.join(pending)}"
            )
        await asyncio.sleep(interval)
    client.discovery.invalidate()


async def _known_versions(
    client: kube_client.KubeClient, objs: Sequence[Mapping[str, Any]]
) -> dict[ResourceKey, str]:
    async def version(obj: Mapping[str, Any]) -> tuple[ResourceKey, str]:
        key = ResourceKey.of(obj)
        try:
            res = await client.resource_for(obj)
            live = await client.get_or_none(key, version=res.version)
        except errors.UnknownKindError:
            live = None
        return key, str(((live or {}).get("metadata") or {}).get("resourceVersion") or "")

    pairs = await asyncio.gather(*(version(o) for o in objs))
    return {k: v for k, v in pairs if v}


async def apply_staged(
    client: kube_client.KubeClient,
    objs: Sequence[Mapping[str, Any]],
    *,
    concurrency: int = 8,
    force: bool = False,
    dry_run: bool = False,
    establish_timeout: float = 60.0,
) -> list[kube_apply.ApplyResult]:
    """Apply ``objs`` in two stages; results in input order, each ``created``/``configured``/
    ``unchanged`` (the live ``resourceVersion`` is read first) or ``failed``.

    A failed definition fails the objects of the second stage without sending them.
    """
    order = {ResourceKey.of(o): i for i, o in enumerate(objs)}
    first = [o for o in objs if is_definition(o)]
    rest = [o for o in objs if not is_definition(o)]
    results = await kube_apply.apply_many(
        client,
        first,
        concurrency=concurrency,
        force=force,
        dry_run=dry_run,
        known_versions=await _known_versions(client, first),
    )
    failed = [r for r in results if not r.ok]
    why = f"not applied: {failed[0].key} failed" if failed else ""
    if not failed and not dry_run:
        crds = [r.key.name for r in results if r.key.kind == "CustomResourceDefinition"]
        try:
            await wait_established(client, crds, wait_seconds=establish_timeout)
        except errors.KubeError as exc:
            why = f"not applied: {exc}"
    if why:
        results += [
            kube_apply.ApplyResult(key=ResourceKey.of(o), ok=False, error=why) for o in rest
        ]
    else:
        results += await kube_apply.apply_many(
            client,
            rest,
            concurrency=concurrency,
            force=force,
            dry_run=dry_run,
            known_versions=await _known_versions(client, rest),
        )
    return sorted(results, key=lambda r: order.get(r.key, len(order)))


async def ensure_crds(
    client: kube_client.KubeClient, docs: Sequence[Mapping[str, Any]], *, dry_run: bool = False
) -> list[tuple[str, str]]:
    """(CRD name, "created" | "unchanged") for each CRD, created only where missing.

    A CRD that already exists is left alone (it may belong to the project's own installation,
    with its full schema); the created ones are waited for until Established.
    """
    rows: list[tuple[str, str]] = []
    created: list[str] = []
    for doc in docs:
        name = str(doc["metadata"]["name"])
        key = ResourceKey(CRD_GROUP, "CustomResourceDefinition", "", name)
        if await client.get_or_none(key) is not None:
            rows.append((name, "unchanged"))
            continue
        try:
            await client.create(doc, dry_run=dry_run)
        except errors.KubeConflictError:  # created meanwhile by another installer
            rows.append((name, "unchanged"))
            continue
        created.append(name)
        rows.append((name, "created"))
    if created and not dry_run:
        await wait_established(client, created)
    return rows
