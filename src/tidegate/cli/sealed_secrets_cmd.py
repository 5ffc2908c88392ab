"""``tidegate sealed-secrets-controller``: unseal SealedSecrets on one cluster, in the foreground.

Also the place where the SealedSecret template renderer is wired: Go templates come from the
ApplicationSet engine (``tidegate.appset.gotemplate``), which the engine-level
``tidegate.sealedsecrets`` package may not import itself.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from tidegate.cli import kubeopts
from tidegate.cli.controller_cmd import LOG_FORMAT, LOG_LEVEL
from tidegate.sealedsecrets import names

if TYPE_CHECKING:
    from tidegate.sealedsecrets.unsealing import Renderer

CONTROLLER_NAMESPACE_OPTION = typer.Option(
    names.CONTROLLER_NAMESPACE,
    "--controller-namespace",
    "--key-namespace",
    envvar="SEALED_SECRETS_CONTROLLER_NAMESPACE",
    help="Namespace of the sealing key Secrets.",
)


# This controller's own client rate (the engine's default is 100/500): 1,000 SealedSecrets are
# 2,000 writes. What keeps the API server safe is not this ceiling but the closed loop under it:
# at most GATE_CEILING reconciles (and the client's 16 requests) in flight, fewer as soon as the
# server answers slower or with 429 (the adaptive gate), and 429/5xx writes retried after a
# backoff instead of at once (docs/sealedsecrets.md, "Throughput").
KUBE_API_QPS = 500.0
KUBE_API_BURST = 1000
GATE_INITIAL = 8
GATE_CEILING = 32


def renderer() -> Renderer:
    """``spec.template.data`` rendering: Go templates, a missing key is an error."""
    from tidegate.appset import gotemplate

    return gotemplate.Templates(missingkey=gotemplate.MissingKey.ERROR).render


def sealed_secrets_controller(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: Annotated[
        str | None, typer.Option("--context", help="Kubeconfig context of the cluster.")
    ] = None,
    key_namespace: str = CONTROLLER_NAMESPACE_OPTION,
    key_prefix: Annotated[
        str, typer.Option("--key-prefix", help="generateName of new key Secrets.")
    ] = names.KEY_PREFIX,
    key_size: Annotated[int, typer.Option("--key-size", min=2048)] = names.KEY_SIZE,
    key_renew_days: Annotated[
        float,
        typer.Option(
            "--key-renew-days", min=0.0, help="Days between new keys (0: never; old keys stay)."
        ),
    ] = float(names.KEY_RENEW_DAYS),
    my_cn: Annotated[str, typer.Option("--my-cn", help="CN of generated certificates.")] = "",
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="Only this namespace's SealedSecrets (default: all)."),
    ] = None,
    listen_addr: Annotated[
        str,
        typer.Option(
            "--listen-addr",
            help="Serve /v1/cert.pem, /v1/verify and /healthz on HOST:PORT (default: off).",
        ),
    ] = "",
    update_status: Annotated[bool, typer.Option("--update-status/--no-update-status")] = True,
    kube_api_qps: Annotated[
        float,
        typer.Option(
            "--kube-api-qps",
            min=0.0,
            help="Requests per second to the API server (0: no client-side limit).",
        ),
    ] = KUBE_API_QPS,
    kube_api_burst: Annotated[
        int, typer.Option("--kube-api-burst", min=1, help="Requests above the rate at once.")
    ] = KUBE_API_BURST,
    install_crd: Annotated[
        bool, typer.Option("--install-crd", help="Apply the SealedSecret CRD and exit.")
    ] = False,
    loglevel: str = LOG_LEVEL,
    logformat: str = LOG_FORMAT,
) -> None:
    """Keep a sealing key in --controller-namespace and turn every SealedSecret of the cluster
    into its Secret, until Ctrl-C (Sealed Secrets' controller, standalone for one cluster).

    Exit codes: 0 stopped (or CRD installed), 1 cluster unusable, 2 usage error.
    """

    from tidegate.cli import logsetup

    logsetup.configure(loglevel, fmt=logformat)
    from tidegate.controller import opgate
    from tidegate.kube import client as kube_client
    from tidegate.sealedsecrets import controller, crd, httpapi, keystore

    policy = keystore.KeyPolicy(
        namespace=key_namespace,
        prefix=key_prefix,
        size=key_size,
        renew_period=datetime.timedelta(days=key_renew_days),
        common_name=my_cn,
    )

    async def main() -> None:
        cfg = kubeopts.cluster_config(kubeconfig, context).with_limits(
            qps=kube_api_qps, burst=kube_api_burst
        )
        async with kube_client.client_for(cfg) as client:
            if install_crd:
                await client.apply(crd.crd(), force=True)
                typer.echo(f"customresourcedefinition.apiextensions.k8s.io/{crd.NAME} applied")
                return
            ctl = controller.Controller(
                client,
                policy=policy,
                render=renderer(),
                namespace=namespace,
                update_status=update_status,
                gate=opgate.OperationGate(
                    initial=GATE_INITIAL, ceiling=GATE_CEILING, sample=client.pressure.sample
                ),
            )
            server = None
            if listen_addr:
                host, _, port = listen_addr.rpartition(":")
                server = await httpapi.serve(host, int(port), lambda: ctl.keys)
            try:
                await ctl.run()
            finally:
                if server is not None:
                    server.close()

    with contextlib.suppress(KeyboardInterrupt):
        kubeopts.run(main())
