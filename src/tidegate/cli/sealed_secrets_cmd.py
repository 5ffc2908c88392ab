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
        cfg = kubeopts.cluster_config(kubeconfig, context)
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
