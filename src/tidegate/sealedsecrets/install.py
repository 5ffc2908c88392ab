"""Make a cluster ready for SealedSecrets (I/O): the CRD where it is missing, and a sealing key.

``tidegate cluster add`` runs :func:`prepare` on the workload cluster it registers, so its
certificate can be fetched (``tidegate seal --cluster NAME``) before any controller has run
there; ``tidegate install`` puts the CRD on the management cluster. A CRD that exists is left
alone (it may be the Sealed Secrets project's own, with its full schema).
"""

from __future__ import annotations

from tidegate.kube import client as kube_client
from tidegate.kube import stages
from tidegate.sealedsecrets import crd, keys, keystore


async def ensure_crd(
    client: kube_client.KubeClient, *, dry_run: bool = False
) -> list[tuple[str, str]]:
    """(CRD name, "created" | "unchanged") for the SealedSecret CRD."""
    return await stages.ensure_crds(client, [crd.crd()], dry_run=dry_run)


async def prepare(
    client: kube_client.KubeClient, policy: keystore.KeyPolicy | None = None
) -> list[keys.SealingKey]:
    """The CRD where missing, then the active keys (one generated when there is none)."""
    await ensure_crd(client)
    return await keystore.ensure_key(client, policy or keystore.KeyPolicy())
