"""Put Argo Rollouts' CRDs on a cluster where they are missing (I/O).

A CRD that already exists is left alone (it may belong to an Argo Rollouts installation with
its full schema); the created ones are waited for until Established.
"""

from __future__ import annotations

from tidegate.kube import client as kube_client
from tidegate.kube import stages
from tidegate.rollouts import crd


async def ensure_crds(
    client: kube_client.KubeClient, *, dry_run: bool = False
) -> list[tuple[str, str]]:
    """(CRD name, "created" | "unchanged") for each of Argo Rollouts' CRDs."""
    return await stages.ensure_crds(client, crd.crds(), dry_run=dry_run)
