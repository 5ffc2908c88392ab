"""``tidegate install``: put Tidegate's CRDs, control namespace, RBAC and default project on a
cluster (server-side apply, idempotent)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tidegate.cli import kubeopts

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client
    from tidegate.kube.config import ClusterConfig


class Output(enum.StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def install(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Server-side dry run: show, change nothing.")
    ] = False,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="Output format: table, json or yaml.")
    ] = Output.table,
) -> None:
    """Install Tidegate's CRDs (Application, ApplicationSet, AppProject, Sealed Secrets'
    SealedSecret and Kargo's promotion kinds), the control namespace, the controller's RBAC and
    the 'default' AppProject; Argo Rollouts' CRDs (Rollout, AnalysisTemplate, ...) are created
    where missing.

    Safe to run again: objects already up to date are reported 'unchanged'.
    Exit codes: 0 installed, 1 kubeconfig/context unusable, cluster unreachable or an object
    failed, 2 usage error.
    """
    import asyncio
    import json
    import sys

    import yaml

    from tidegate.model import crds, errors
    from tidegate.promotion import crds as promotion_crds

    manifests = crds.install_manifests(namespace)
    manifests[2:2] = promotion_crds.crds()
    try:
        cfg = kubeopts.cluster_config(kubeconfig, context)
        rows = asyncio.run(_install(cfg, manifests, dry_run=dry_run))
    except errors.TidegateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if output is Output.table:
        suffix = " (server dry run)" if dry_run else ""
        for row in rows:
            status = row["action"] if row["action"] != "failed" else f"failed: {row['error']}"
            typer.echo(f"{row['resource']} {status}{suffix}")
    elif output is Output.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(rows, sort_keys=False))
    if any(r["action"] == "failed" for r in rows):
        raise typer.Exit(1)


def _resource(group: str, kind: str, name: str) -> str:
    """kubectl's way to name an object: ``customresourcedefinition.apiextensions.k8s.io/x``."""
    return f"{kind.lower()}{'.' + group if group else ''}/{name}"


async def _install(
    cfg: ClusterConfig, manifests: list[dict[str, Any]], *, dry_run: bool
) -> list[dict[str, str]]:
    from tidegate.kube import client as kube_client
    from tidegate.kube import stages
    from tidegate.model import errors

    async with kube_client.client_for(cfg) as client:
        # Fail fast, with one clear message, when the cluster cannot be reached at all.
        await client.request("GET", "/version", what=f"install on cluster {client.name}")
        results = await stages.apply_staged(client, manifests, dry_run=dry_run)
        workload_rows = (
            [] if not all(r.ok for r in results) else await _workload_crds(client, dry_run)
        )
    unreachable = [r for r in results if not r.ok and r.retryable]
    if unreachable and len(unreachable) == len(results):
        raise errors.ClusterUnreachableError(unreachable[0].error)
    return [
        {
            "resource": _resource(r.key.group, r.key.kind, r.key.name),
            "namespace": r.key.namespace,
            "action": r.action,
            "error": r.error,
        }
        for r in results
    ] + workload_rows


async def _workload_crds(client: kube_client.KubeClient, dry_run: bool) -> list[dict[str, str]]:
    """Argo Rollouts' and Sealed Secrets' CRDs, created only where missing (their projects'
    own installations keep theirs): the management cluster is a destination too."""
    from tidegate.model import errors
    from tidegate.rollouts import install
    from tidegate.sealedsecrets import install as sealed_install

    rows: list[dict[str, str]] = []
    for what, ensure in (
        ("rollouts CRDs", install.ensure_crds),
        ("sealedsecrets CRD", sealed_install.ensure_crd),
    ):
        try:
            done = await ensure(client, dry_run=dry_run)
        except errors.KubeError as exc:
            rows.append({"resource": what, "namespace": "", "action": "failed", "error": str(exc)})
            continue
        rows += [
            {
                "resource": _resource("apiextensions.k8s.io", "CustomResourceDefinition", name),
                "namespace": "",
                "action": action,
                "error": "",
            }
            for name, action in done
        ]
    return rows
