"""``tidegate repocreds add|list|rm``: credential templates (``repo-creds`` Secrets), as
``argocd repocreds`` manages them.

A template's URL is a prefix: every repository whose URL starts with it and has no
credentials of its own uses them (``sources.credentials_for``, as Argo CD). ``add`` does not
test access (there is no single repository to test, as in argocd); the same prefix again is
``unchanged``, different credentials need ``--upsert``. Values never appear in output or
errors; ``list`` shows which kinds of credentials a template holds, not the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import kubeopts, remote, repo_cmd, repo_flags

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

app = typer.Typer(
    name="repocreds", help="Manage repository credential templates.", no_args_is_help=True
)
app.command("list")(repo_cmd.creds_list)


def _find(secrets: Iterable[Mapping[str, Any]], url: str) -> Mapping[str, Any] | None:
    from tidegate.controller import repos
    from tidegate.model import constants

    return repos.find(secrets, url, secret_type=constants.SECRET_TYPE_REPO_CREDS)


async def _add(spec: Any, *, kubeconfig: str | None, context: str | None, namespace: str,
               upsert: bool, core: bool = False) -> str:  # fmt: skip
    from tidegate.cli import repo_remote
    from tidegate.controller import repos
    from tidegate.kube import client as kube_client
    from tidegate.model import constants, errors
    from tidegate.sources import urls

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await repo_remote.add_template(server, spec, upsert=upsert)
    shown = urls.display(spec.url)
    async with kube_client.client_for(kubeopts.cluster_config(kubeconfig, context)) as client:
        existing = _find(await repo_cmd._secrets(client, namespace), spec.url)
        name = existing["metadata"]["name"] if existing else (
            "creds-" + repos.secret_name_for(spec.url).removeprefix("repo-"))  # fmt: skip
        wanted = repos.repository_secret(spec, namespace=namespace, secret_name=name)
        wanted["metadata"]["labels"] = {
            constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPO_CREDS
        }
        if existing is None:
            await client.create(wanted)
            return f"repository credentials for {shown} added"
        if repos.same_registration(existing, wanted):
            return f"repository credentials for {shown} unchanged"
        if not upsert:
            raise errors.ConfigError(
                f"repository credentials for {shown} already exist (Secret {name}) with other "
                "settings; use --upsert to overwrite them"
            )
        version = existing["metadata"].get("resourceVersion")
        await client.replace({**wanted, "metadata": {**wanted["metadata"],
                                                     "resourceVersion": version}})  # fmt: skip
        return f"repository credentials for {shown} updated"


@app.command("add")
def add(
    url: str = typer.Argument(..., help="URL prefix the credentials apply to."),
    username: str = typer.Option("", "--username", help="User name (HTTP basic auth)."),
    password: str = typer.Option("", "--password", help="Password or access token."),
    ssh_private_key_path: Path | None = typer.Option(
        None, "--ssh-private-key-path", help="File with the SSH private key."
    ),
    tls_client_cert_path: Path | None = typer.Option(
        None, "--tls-client-cert-path", help="File with a TLS client certificate (PEM)."
    ),
    tls_client_cert_key_path: Path | None = typer.Option(
        None, "--tls-client-cert-key-path", help="File with the TLS client key (PEM)."
    ),
    repo_type: str = typer.Option("git", "--type", help="git or helm."),
    enable_oci: bool = typer.Option(False, "--enable-oci", help="Helm charts in OCI registries."),
    insecure_oci_force_http: bool = typer.Option(
        False, "--insecure-oci-force-http", help="Talk to OCI registries over plain HTTP."
    ),
    force_http_basic_auth: bool = typer.Option(
        False, "--force-http-basic-auth", help="Send basic auth without a 401 challenge."
    ),
    upsert: bool = typer.Option(False, "--upsert", help="Overwrite different credentials."),
    bearer_token: str = repo_flags.BEARER_TOKEN,
    github_app_id: str = repo_flags.GITHUB_APP_ID,
    github_app_installation_id: str = repo_flags.GITHUB_APP_INSTALLATION_ID,
    github_app_private_key_path: Path | None = repo_flags.GITHUB_APP_PRIVATE_KEY_PATH,
    github_app_enterprise_base_url: str = repo_flags.GITHUB_APP_ENTERPRISE_BASE_URL,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Add credentials for every repository whose URL starts with URL."""
    from tidegate.controller import repos
    from tidegate.model import errors

    try:
        spec = repos.RepoSpec.parse(
            url,
            type=repo_type,
            username=username,
            password=password,
            ssh_private_key=repo_cmd.read_file(ssh_private_key_path, "--ssh-private-key-path"),
            tls_client_cert=repo_cmd.read_file(tls_client_cert_path, "--tls-client-cert-path"),
            tls_client_key=repo_cmd.read_file(
                tls_client_cert_key_path, "--tls-client-cert-key-path"
            ),
            force_basic_auth=force_http_basic_auth,
            enable_oci=enable_oci,
            insecure_oci_force_http=insecure_oci_force_http,
            **repo_flags.spec_fields(
                bearer_token=bearer_token,
                github_app_id=github_app_id,
                github_app_installation_id=github_app_installation_id,
                github_app_private_key_path=github_app_private_key_path,
                github_app_enterprise_base_url=github_app_enterprise_base_url,
            ),
        )
    except errors.ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(kubeopts.run(_add(spec, kubeconfig=kubeconfig, context=context,
                                 namespace=namespace, upsert=upsert, core=core)))  # fmt: skip


async def _rm(
    kubeconfig: str | None, context: str | None, namespace: str, url: str, core: bool
) -> str:
    from tidegate.cli import repo_remote
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey
    from tidegate.sources import urls

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await repo_remote.rm_template(server, url)
    async with kube_client.client_for(kubeopts.cluster_config(kubeconfig, context)) as client:
        existing = _find(await repo_cmd._secrets(client, namespace), url)
        if existing is None:
            raise errors.ConfigError(f"no repository credentials for {urls.display(url)}")
        key = ResourceKey("", "Secret", namespace, existing["metadata"]["name"])
        await client.delete(key, version="v1")
    return f"repository credentials for {urls.display(url)} removed"


@app.command("rm")
def rm(
    urls_: list[str] = typer.Argument(..., metavar="URL...", help="URL prefixes."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Remove credential templates."""
    for url in urls_:
        typer.echo(kubeopts.run(_rm(kubeconfig, context, namespace, url, core)))
