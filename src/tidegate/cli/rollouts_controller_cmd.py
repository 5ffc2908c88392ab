"""``tidegate rollouts-controller``: reconcile Rollouts on one cluster, in the foreground."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer

from tidegate.cli import kubeopts
from tidegate.cli.controller_cmd import LOG_FORMAT, LOG_LEVEL

INSTANCE_ID_OPTION = typer.Option(
    "",
    "--instance-id",
    envvar="ROLLOUTS_INSTANCE_ID",
    help="Handle only Rollouts labelled argo-rollouts.argoproj.io/controller-instance-id=ID "
    "(default: only those without the label), as Argo Rollouts' --instance-id.",
)


def rollouts_controller(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: Annotated[
        str | None, typer.Option("--context", help="Kubeconfig context of the cluster.")
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Only this namespace's Rollouts (default: all)."),
    ] = None,
    instance_id: str = INSTANCE_ID_OPTION,
    install_crds: Annotated[
        bool,
        typer.Option("--install-crds", help="Create Argo Rollouts' CRDs where missing and exit."),
    ] = False,
    loglevel: str = LOG_LEVEL,
    logformat: str = LOG_FORMAT,
) -> None:
    """Run the Rollouts controller (canary and blue-green) and the analysis controller of its
    AnalysisRuns for one cluster until Ctrl-C.

    Exit codes: 0 stopped (or CRDs installed), 1 cluster unusable, 2 usage error.
    """
    from tidegate.cli import logsetup

    logsetup.configure(loglevel, fmt=logformat)
    from tidegate.kube import client as kube_client
    from tidegate.rollouts import cluster, install

    async def main() -> None:
        cfg = kubeopts.cluster_config(kubeconfig, context)
        async with kube_client.client_for(cfg, bulk=True) as client:
            if install_crds:
                for name, action in await install.ensure_crds(client):
                    typer.echo(f"customresourcedefinition.apiextensions.k8s.io/{name} {action}")
                return
            both = cluster.ClusterControllers(client, namespace=namespace, instance_id=instance_id)
            await both.run()

    with contextlib.suppress(KeyboardInterrupt):
        kubeopts.run(main())
