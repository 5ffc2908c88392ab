"""The write verbs of a sync, with field validation: server-side apply, create, replace, delete.

``kube.KubeClient`` has the same verbs; these add the ``fieldValidation`` parameter that the
``Validate`` sync option needs (``Strict`` by default, as ``kubectl`` validates; ``Ignore`` with
``Validate=false``) and always apply with ``force=true`` (Argo CD documents its server-side
apply as ``kubectl apply --server-side --force-conflicts``). Failures raise the ``KubeError``
family; the executor turns them into results. Secret values never reach a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msgspec

from tidegate.kube import client as kube_client
from tidegate.kube import discovery
from tidegate.kube import status as kube_status
from tidegate.model import constants, errors, keys

Obj = Mapping[str, Any]

_encode = msgspec.json.encode


def _params(*, dry_run: bool, validate: bool, force: bool = False) -> dict[str, str]:
    params = {
        "fieldManager": constants.FIELD_MANAGER,
        "fieldValidation": "Strict" if validate else "Ignore",
    }
    if force:
        params["force"] = "true"
    if dry_run:
        params["dryRun"] = "All"
    return params


def _what(verb: str, key: keys.ResourceKey, client: kube_client.KubeClient, dry_run: bool) -> str:
    return kube_client.describe(f"dry-run {verb}" if dry_run else verb, key, client.name)


def _namespace(
    res: discovery.APIResource, key: keys.ResourceKey, client: kube_client.KubeClient
) -> str | None:
    if not res.namespaced:
        return None
    return key.namespace or client.config.namespace or "default"


def _after_write(client: kube_client.KubeClient, key: keys.ResourceKey, dry_run: bool) -> None:
    if key.kind == "CustomResourceDefinition" and not dry_run:
        client.discovery.invalidate()


async def apply(
    client: kube_client.KubeClient, obj: Obj, *, dry_run: bool = False, validate: bool = True
) -> kube_client.Response:
    """Server-side apply with field manager ``tidegate``, forcing conflicts; code 201 = created."""
    res = await client.resource_for(obj)
    key = keys.ResourceKey.of(obj)
    response = await client.request(
        "PATCH",
        res.path(_namespace(res, key, client), key.name),
        what=_what("apply", key, client, dry_run),
        params=_params(dry_run=dry_run, validate=validate, force=True),
        body=_encode(obj),
        content_type=kube_client.APPLY_CONTENT_TYPE,
        secrets=kube_status.secret_values(obj),
    )
    _after_write(client, key, dry_run)
    return response


async def create(
    client: kube_client.KubeClient, obj: Obj, *, dry_run: bool = False, validate: bool = True
) -> kube_client.Response:
    """POST the object to its collection."""
    res = await client.resource_for(obj)
    key = keys.ResourceKey.of(obj)
    response = await client.request(
        "POST",
        res.path(_namespace(res, key, client)),
        what=_what("create", key, client, dry_run),
        params=_params(dry_run=dry_run, validate=validate),
        body=_encode(obj),
        secrets=kube_status.secret_values(obj),
    )
    _after_write(client, key, dry_run)
    return response


async def replace(
    client: kube_client.KubeClient, obj: Obj, *, dry_run: bool = False, validate: bool = True
) -> kube_client.Response:
    """PUT the whole object (unconditional: no resourceVersion is sent unless the target has
    one)."""
    res = await client.resource_for(obj)
    key = keys.ResourceKey.of(obj)
    response = await client.request(
        "PUT",
        res.path(_namespace(res, key, client), key.name),
        what=_what("replace", key, client, dry_run),
        params=_params(dry_run=dry_run, validate=validate),
        body=_encode(obj),
        secrets=kube_status.secret_values(obj),
    )
    return response


async def wait_gone(
    client: kube_client.KubeClient,
    key: keys.ResourceKey,
    *,
    within: float,
    interval: float = 0.1,
) -> None:
    """Poll until ``key`` no longer exists; a :class:`KubeError` names it after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await client.get_or_none(key) is not None:
        if loop.time() >= deadline:
            raise errors.KubeError(
                f"{key} on cluster {client.name} still exists {within:.0f}s after its deletion "
                "(a finalizer may hold it)"
            )
        await asyncio.sleep(interval)


async def recreate(
    client: kube_client.KubeClient,
    obj: Obj,
    *,
    validate: bool,
    delete_within: float,
    server_side: bool,
) -> kube_client.Response:
    """Delete the object, wait until it is gone, create it again (``Force=true``)."""
    key = keys.ResourceKey.of(obj)
    await client.delete(key, propagation="Background")
    await wait_gone(client, key, within=delete_within)
    if server_side:
        return await apply(client, obj, validate=validate)
    return await create(client, obj, validate=validate)


def is_recreatable(exc: errors.KubeError) -> bool:
    """Errors that deleting and recreating the object can cure: an immutable field (422
    Invalid) or a conflict (409)."""
    return isinstance(exc, errors.KubeApiError) and exc.code in (409, 422)


def already_exists(exc: errors.KubeError) -> bool:
    return isinstance(exc, errors.KubeConflictError) and exc.reason == "AlreadyExists"
