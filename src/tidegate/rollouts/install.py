"""Put Argo Rollouts' CRDs on a cluster where they are missing (I/O).

A CRD that already exists is left alone (it may belong to an Argo Rollouts installation with
its full schema); the created ones are waited for until Established.
"""

from __future__ import annotations

from tidegate.kube import client as kube_client
from tidegate.kube import stages
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import crd


async def ensure_crds(
    client: kube_client.KubeClient, *, dry_run: bool = False
) -> list[tuple[str, str]]:
    """(CRD name, "created" | "unchanged") for each of Argo Rollouts' CRDs."""
    rows: list[tuple[str, str]] = []
    created: list[str] = []
    for doc in crd.crds():
        name = str(doc["metadata"]["name"])
        key = ResourceKey(stages.CRD_GROUP, "CustomResourceDefinition", "", name)
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
        await stages.wait_established(client, created)
    return rows
