"""``tidegate repo add|list|rm`` and ``tidegate repo creds list``: repository Secrets.

``add`` proves access with a real ``git ls-remote`` before it stores anything; credentials
travel to git through the environment and never appear in output or errors.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import kubeopts, output, remote, repo_flags
from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.controller import repos
    from tidegate.kube import client as kube_client

app = typer.Typer(
    name="repo", help="Register, list and remove Git repositories.", no_args_is_help=True
)
creds_app = typer.Typer(
    name="creds", help="Repository credential templates (read-only).", no_args_is_help=True
)
app.add_typer(creds_app)


def read_file(path: Path | None, what: str) -> str:
    if path is None:
        return ""
    try:
        return path.read_text()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=what) from None


async def _trust(client: kube_client.KubeClient, namespace: str) -> tuple[dict[str, str], str]:
    from tidegate.controller import repos

    return await repos.trust(client, namespace)


async def _secrets(client: kube_client.KubeClient, namespace: str) -> list[dict[str, Any]]:
    """Repository and repo-creds Secrets of the control namespace."""
    res = await client.resource("", "Secret", "v1")
    kinds = f"{constants.SECRET_TYPE_REPOSITORY},{constants.SECRET_TYPE_REPO_CREDS}"
    selector = f"{constants.LABEL_SECRET_TYPE} in ({kinds})"
    return (await client.list(res, namespace=namespace, label_selector=selector)).items


async def _add(
    spec: repos.RepoSpec,
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    upsert: bool,
    skip_test: bool,
    core: bool = False,
) -> str:
    from tidegate.cli import remote, repo_remote
    from tidegate.controller import repo_states, repos
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.sources import credentials as creds_mod
    from tidegate.sources import urls

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await repo_remote.add(server, spec, upsert=upsert, skip_test=skip_test)
    shown = urls.display(spec.url)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        secrets = await _secrets(client, namespace)
        existing = repos.find(secrets, spec.url)
        wanted = repos.repository_secret(
            spec,
            namespace=namespace,
            secret_name=existing["metadata"]["name"] if existing else None,
        )
        if existing is not None and not upsert and not repos.same_registration(existing, wanted):
            raise errors.ConfigError(
                f"repository {shown} is already registered (Secret "
                f"{existing['metadata']['name']}) with different settings; use --upsert to"
                " overwrite"
            )
        note = ""
        if skip_test:
            note = " (access not tested)"
        elif spec.type != "git":
            others = [s for s in secrets if s is not existing]
            trust = await _trust(client, namespace)
            creds = creds_mod.credentials_for(
                spec.url,
                [wanted, *others],
                project=spec.project or None,
                tls_certs=trust[0],
                repo_type="helm",
            )
            await repos.check_chart_access(spec.url, creds, time_limit=repo_states.TEST_SECONDS)
        else:
            others = [s for s in secrets if s is not existing]
            trust = await _trust(client, namespace)
            creds = repo_states.credentials(
                spec.url, [wanted, *others], project=spec.project, trust=trust
            )
            with tempfile.TemporaryDirectory(prefix="tidegate-repo-") as state:
                await repos.check_access(
                    spec.url, creds, state_dir=Path(state), git_timeout=repo_states.TEST_SECONDS
                )
        if existing is None:
            await client.create(wanted)
            return f"repository {shown} added{note}"
        if repos.same_registration(existing, wanted):
            return f"repository {shown} unchanged{note}"
        await client.replace(wanted)
        return f"repository {shown} updated{note}"


@app.command("add")
def add(
    url: str = typer.Argument(..., help="Repository URL (https://, ssh://, git@host:path)."),
    username: str = typer.Option("", "--username", help="User name (HTTP basic auth)."),
    password: str = typer.Option("", "--password", help="Password or access token."),
    ssh_private_key_path: Path | None = typer.Option(
        None, "--ssh-private-key-path", help="File with the SSH private key."
    ),
    insecure_skip_server_verification: bool = typer.Option(
        False,
        "--insecure-skip-server-verification",
        help="Do not verify the server's TLS certificate (or SSH host key).",
    ),
    insecure_ignore_host_key: bool = typer.Option(
        False, "--insecure-ignore-host-key", help="Do not verify the SSH host key."
    ),
    tls_client_cert_path: Path | None = typer.Option(
        None, "--tls-client-cert-path", help="File with a TLS client certificate (PEM)."
    ),
    tls_client_cert_key_path: Path | None = typer.Option(
        None, "--tls-client-cert-key-path", help="File with the TLS client key (PEM)."
    ),
    name: str = typer.Option("", "--name", help="Display name."),
    project: str = typer.Option("", "--project", help="Restrict the repository to a project."),
    repo_type: str = typer.Option("git", "--type", help="Repository type: git, helm or oci."),
    enable_oci: bool = typer.Option(
        False, "--enable-oci", help="A Helm repository in an OCI registry (host/path)."
    ),
    insecure_oci_force_http: bool = typer.Option(
        False, "--insecure-oci-force-http", help="Talk to the OCI registry over plain HTTP."
    ),
    enable_lfs: bool = typer.Option(False, "--enable-lfs", help="Fetch Git LFS objects."),
    force_http_basic_auth: bool = typer.Option(
        False, "--force-http-basic-auth", help="Send basic auth without a 401 challenge."
    ),
    upsert: bool = typer.Option(False, "--upsert", help="Overwrite a different registration."),
    skip_test: bool = typer.Option(False, "--skip-test", help="Store without testing access."),
    bearer_token: str = repo_flags.BEARER_TOKEN,
    depth: int = repo_flags.DEPTH,
    github_app_id: str = repo_flags.GITHUB_APP_ID,
    github_app_installation_id: str = repo_flags.GITHUB_APP_INSTALLATION_ID,
    github_app_private_key_path: Path | None = repo_flags.GITHUB_APP_PRIVATE_KEY_PATH,
    github_app_enterprise_base_url: str = repo_flags.GITHUB_APP_ENTERPRISE_BASE_URL,
    webhook_manifest_cache_warm_disabled: bool = repo_flags.WEBHOOK_MANIFEST_CACHE_WARM_DISABLED,
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Register a repository after testing access: git ls-remote for git, the index.yaml of a
    Helm repository, or the registry's /v2/ for OCI (--enable-oci or an oci:// URL)."""
    from tidegate.controller import repos
    from tidegate.model import errors

    try:
        spec = repos.RepoSpec.parse(
            url,
            type=repo_type,
            name=name,
            project=project,
            username=username,
            password=password,
            ssh_private_key=read_file(ssh_private_key_path, "--ssh-private-key-path"),
            tls_client_cert=read_file(tls_client_cert_path, "--tls-client-cert-path"),
            tls_client_key=read_file(tls_client_cert_key_path, "--tls-client-cert-key-path"),
            insecure=insecure_skip_server_verification,
            insecure_ignore_host_key=insecure_ignore_host_key,
            enable_lfs=enable_lfs,
            force_basic_auth=force_http_basic_auth,
            enable_oci=enable_oci,
            insecure_oci_force_http=insecure_oci_force_http,
            depth=depth,
            webhook_manifest_cache_warm_disabled=webhook_manifest_cache_warm_disabled,
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
    message = kubeopts.run(
        _add(
            spec,
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace,
            upsert=upsert,
            skip_test=skip_test,
            core=core,
        )
    )
    typer.echo(message)


async def _list(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    *,
    secret_type: str,
    refresh: bool,
    only: str = "",
    core: bool = False,
) -> list[dict[str, Any]]:
    """The registrations (only the one of URL ``only`` when given) as the commands show them,
    each repository with its connection state (tested when ``refresh``): through the API
    server of the login context, else from the management cluster."""
    from tidegate.cli import remote, repo_remote
    from tidegate.controller import repo_states, repos
    from tidegate.kube import client as kube_client

    creds = secret_type == constants.SECRET_TYPE_REPO_CREDS
    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None and creds:
            return await repo_remote.templates(server)
        if server is not None:
            return await repo_remote.repositories(server, refresh=refresh, only=only)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        secrets = await _secrets(client, namespace)
        trust = await _trust(client, namespace) if refresh else ({}, "")
    found = repos.repositories(secrets, secret_type=secret_type)
    if only:
        from tidegate.sources import urls

        found = [r for r in found if urls.normalise(r.url) == urls.normalise(only)]
    if creds:
        return [repo_remote.info(repo_states.repo_creds_json(r), creds=True) for r in found]
    if refresh:
        states = await repo_states.connection_states(found, secrets, trust)
    else:
        states = repo_states.untested(found)
    return [
        repo_remote.info(repo_states.repository_json(r, state))
        for r, state in zip(found, states, strict=True)
    ]


def _print(infos: list[dict[str, Any]], fmt: output.Format, *, with_status: bool) -> None:
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(infos, fmt)
        return
    headers = ["repo", "type", "name", "project"] + (["status"] if with_status else [])
    wide = fmt is output.Format.wide
    if wide:
        headers += ["insecure", "creds", "user", "secret"] + (["message"] if with_status else [])
    rows = []
    for i in infos:
        row = [i["repo"], i["type"], i["name"], i["project"]]
        row += [i["connectionState"]["status"]] if with_status else []
        if wide:
            row += [str(i["insecure"]).lower(), ",".join(i["credentials"]) or "-"]
            row += [i["username"], i["secretName"]]
            row += [i["connectionState"]["message"]] if with_status else []
        rows.append(row)
    output.table(headers, rows)


@app.command("list")
def list_(
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh", help="Test each repository's access (git ls-remote)."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """List repositories and their connection status (credentials never shown)."""
    infos = kubeopts.run(
        _list(
            kubeconfig,
            context,
            namespace,
            secret_type=constants.SECRET_TYPE_REPOSITORY,
            refresh=refresh,
            core=core,
        )
    )
    _print(infos, fmt, with_status=True)


async def _rm(
    kubeconfig: str | None, context: str | None, namespace: str, url: str, project: str,
    core: bool = False,
) -> str:  # fmt: skip
    from tidegate.cli import repo_remote
    from tidegate.controller import repos
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey
    from tidegate.sources import urls

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await repo_remote.rm(server, url, project)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        existing = repos.find(await _secrets(client, namespace), url)
        if existing is None:
            raise errors.ConfigError(f"repository {urls.display(url)} is not registered")
        scoped = repos.repository_from_secret(existing).project
        if project and scoped != project:
            where = f"project '{scoped}'" if scoped else "no project"
            raise errors.ConfigError(
                f"repository {urls.display(url)} is not registered in project '{project}' (it is"
                f" registered for {where})"
            )
        key = ResourceKey("", "Secret", namespace, existing["metadata"]["name"])
        await client.delete(key, version="v1")
    return f"repository {urls.display(url)} removed"


@app.command("rm")
def rm(
    urls_: list[str] = typer.Argument(..., metavar="URL...", help="Repository URLs."),
    project: str = typer.Option(
        "", "--project", help="Only a registration scoped to this project."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Remove repositories' Secrets."""
    for url in urls_:
        typer.echo(kubeopts.run(_rm(kubeconfig, context, namespace, url, project, core)))


@app.command("get")
def get(
    url: str = typer.Argument(..., help="Repository URL."),
    project: str = typer.Option("", "--project", help="The project the repository is scoped to."),
    refresh: str = typer.Option(
        "", "--refresh", help="argocd's 'hard' (accepted; the access test always runs fresh)."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: str = typer.Option("table", "--output", "-o", help="table, wide, json, yaml or url."),
    core: bool = remote.CORE_OPTION,
) -> None:
    """Show one repository and its connection status (access tested now, as `list` does)."""
    from tidegate.sources import urls

    if refresh not in ("", "hard"):
        raise output.fail(f"--refresh: {refresh!r} is not 'hard'", 2)
    if fmt not in ("table", "wide", "json", "yaml", "url"):
        raise output.fail(f"--output: unknown format {fmt!r} (table, wide, json, yaml, url)", 2)
    infos = kubeopts.run(
        _list(kubeconfig, context, namespace, secret_type=constants.SECRET_TYPE_REPOSITORY,
              refresh=True, only=url, core=core)
    )  # fmt: skip
    found = [i for i in infos if not project or i["project"] == project]
    if not found:
        scope = f" in project '{project}'" if project else ""
        raise output.fail(f"repository {urls.display(url)} is not registered{scope}")
    if fmt == "url":
        typer.echo(found[0]["repo"])
    elif fmt in ("json", "yaml"):
        output.dump(found[0], output.Format(fmt))
    else:
        _print(found[:1], output.Format(fmt), with_status=True)


@creds_app.command("list")
def creds_list(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """List credential templates (``repo-creds`` Secrets: URL prefixes)."""
    infos = kubeopts.run(
        _list(
            kubeconfig,
            context,
            namespace,
            secret_type=constants.SECRET_TYPE_REPO_CREDS,
            refresh=False,
            core=core,
        )
    )
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(infos, fmt)
        return
    output.table(
        ["url pattern", "type", "creds", "project", "secret"],
        [
            [i["url"], i["type"], ",".join(i["credentials"]) or "-", i["project"], i["secretName"]]
            for i in infos
        ],
    )
