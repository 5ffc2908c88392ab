"""Apply many objects concurrently; each outcome is data (an :class:`ApplyResult`), not an error."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

Action = Literal["created", "configured", "unchanged", "failed"]


@dataclasses.dataclass(frozen=True, slots=True)
class ApplyResult:
    """What applying one object did.

    ``changed`` is None when it cannot be known: no previous ``resourceVersion`` was given, or
    it was a dry run of an existing object.
    """

    key: ResourceKey
    ok: bool
    created: bool = False
    changed: bool | None = None
    object: dict[str, Any] | None = None
    error: str = ""
    dry_run: bool = False
    retryable: bool = False

    @property
    def action(self) -> Action:
        if not self.ok:
            return "failed"
        if self.created:
            return "created"
        return "unchanged" if self.changed is False else "configured"


async def apply_one(
    client: kube_client.KubeClient,
    obj: Mapping[str, Any],
    *,
    dry_run: bool = False,
    force: bool = False,
    known_version: str | None = None,
) -> ApplyResult:
    key = ResourceKey.of(obj)
    try:
        response = await client.apply(obj, dry_run=dry_run, force=force)
    except errors.KubeError as exc:
        return ApplyResult(
            key=key,
            ok=False,
            error=str(exc),
            dry_run=dry_run,
            retryable=isinstance(exc, errors.TemporaryError),
        )
    created = response.code == 201
    changed: bool | None = True if created else None
    if not created and known_version and not dry_run:
        new_version = (response.body.get("metadata") or {}).get("resourceVersion")
        changed = new_version != known_version
    return ApplyResult(
        key=key, ok=True, created=created, changed=changed, object=response.body, dry_run=dry_run
    )


async def apply_many(
    client: kube_client.KubeClient,
    objs: Sequence[Mapping[str, Any]],
    *,
    concurrency: int = 8,
    dry_run: bool = False,
    force: bool = False,
    known_versions: Mapping[ResourceKey, str] | None = None,
) -> list[ApplyResult]:
    """Server-side apply every object, ``concurrency`` in flight; results in input order.

    ``known_versions`` (live ``resourceVersion`` by key, e.g. from the live cache) lets each
    result tell ``configured`` from ``unchanged``.
    """
    known = known_versions or {}
    results: list[ApplyResult | None] = [None] * len(objs)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(objs):
            i = next_index
            next_index += 1
            obj = objs[i]
            results[i] = await apply_one(
                client,
                obj,
                dry_run=dry_run,
                force=force,
                known_version=known.get(ResourceKey.of(obj)),
            )

    workers = max(1, min(concurrency, len(objs)))
    await asyncio.gather(*(worker() for _ in range(workers)))
    return [r for r in results if r is not None]
