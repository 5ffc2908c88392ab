"""``tidegate cluster add|list|get|set|rm``: cluster Secrets in the management cluster.

As ``argocd cluster add`` does, ``add`` installs a ``tidegate-manager`` service account with
cluster-admin rights on the *target* cluster and stores its long-lived token (or, with
``--use-existing-credentials``, the kubeconfig's own credentials) in a cluster Secret in the
control namespace of the management cluster; Argo Rollouts' and Sealed Secrets' CRDs are
created on the target where missing, and a sealing key is generated there when it has none
(Tidegate's Rollouts and Sealed Secrets controllers work there). Heavy imports stay inside the
commands.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import kubeopts, output, remote
from tidegate.model import constants

if TYPE_CHECKING:
    from tidegate.controller import clusters
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config

app = typer.Typer(
    name="cluster",
    help="Register, list, label and remove destination clusters.",
    no_args_is_help=True,
)

LABEL_OPTION: Any = typer.Option([], "--label", help="Label k=v (repeatable).")
YES_OPTION: Any = typer.Option(
    False, "--yes", "-y", help="Accepted for argocd scripts; Tidegate never prompts."
)
ANNOTATION_OPTION: Any = typer.Option([], "--annotation", help="Annotation k=v (repeatable).")


@dataclasses.dataclass(frozen=True)
class TargetAccount:
    """``cluster add``'s choices about the target: which service account (empty: Tidegate's
    manager, installed in ``system_namespace``), cluster-scoped resources, controller shard."""

    service_account: str = ""
    system_namespace: str = constants.CLUSTER_MANAGER_NAMESPACE
    cluster_resources: bool = False
    shard: int | None = None


def parse_pairs(values: Sequence[str], *, what: str, allow_remove: bool) -> dict[str, str | None]:
    """``k=v`` pairs (and ``k-`` removals when allowed); bad input is a usage error (exit 2)."""
    out: dict[str, str | None] = {}
    for raw in values:
        if allow_remove and raw.endswith("-") and "=" not in raw:
            out[raw[:-1]] = None
            continue
        key, sep, value = raw.partition("=")
        if not sep or not key:
            hint = "k=v or k-" if allow_remove else "k=v"
            raise typer.BadParameter(f"{what} {raw!r} is not {hint}", param_hint=f"--{what}")
        out[key] = value
    return out


async def _secrets(client: kube_client.KubeClient, namespace: str, secret_type: str) -> list[Any]:
    res = await client.resource("", "Secret", "v1")
    selector = f"{constants.LABEL_SECRET_TYPE}={secret_type}"
    return (await client.list(res, namespace=namespace, label_selector=selector)).items


async def _registry(
    client: kube_client.KubeClient, namespace: str, mgmt: kube_config.ClusterConfig
) -> tuple[clusters.ClusterRegistry, list[Any]]:
    from tidegate.controller import clusters

    secrets = await _secrets(client, namespace, constants.SECRET_TYPE_CLUSTER)
    return clusters.ClusterRegistry(secrets, management=mgmt), secrets


def _find(registry: clusters.ClusterRegistry, name_or_server: str) -> clusters.Cluster:
    from tidegate.model import errors

    by_name = registry.by_name(name_or_server)
    if len(by_name) == 1:
        return by_name[0]
    found = registry.by_server(name_or_server)
    if found is None:
        raise errors.ConfigError(f"cluster '{name_or_server}' not found")
    return found


async def registered_config(
    kubeconfig: str | None, context: str | None, namespace: str, name_or_server: str
) -> kube_config.ClusterConfig:
    """The connection settings of a registered cluster (its cluster Secret's credentials)."""
    async with kubeopts.management(kubeconfig, context) as (mgmt, client):
        registry, _ = await _registry(client, namespace, mgmt)
    return _find(registry, name_or_server).require_config()


# -- add --------------------------------------------------------------------------------------


async def install_manager(
    client: kube_client.KubeClient, namespace: str = constants.CLUSTER_MANAGER_NAMESPACE
) -> tuple[str, str]:
    """Install the cluster-manager objects on a target (its service account in ``namespace``);
    (token, CA of the token) once the token controller has filled the token Secret."""
    from tidegate.controller import cluster_auth, clusters
    from tidegate.model.keys import ResourceKey

    for obj in clusters.manager_objects(namespace):
        await client.apply(obj, force=True)
    key = ResourceKey("", "Secret", namespace, constants.CLUSTER_MANAGER_TOKEN_SECRET)
    return await cluster_auth.wait_token(client, key)


def _stored_credentials(target: kube_config.ClusterConfig) -> kube_config.ClusterConfig:
    """The kubeconfig's own credentials, with a token file read into a bearer token."""
    from tidegate.model import errors

    if target.token_file and not target.bearer_token:
        try:
            token = Path(target.token_file).read_text().strip()
        except OSError as exc:
            raise errors.ConfigError(f"cannot read token file {target.token_file}: {exc}") from exc
        return dataclasses.replace(target, bearer_token=token, token_file=None)
    return target


async def prepare_workload(target: kube_client.KubeClient) -> None:
    """What the workload controllers need on a new destination: Argo Rollouts' and Sealed
    Secrets' CRDs where missing, and a sealing key (so its certificate can be fetched at once)."""
    from tidegate.rollouts import install as rollouts_install
    from tidegate.sealedsecrets import install as sealed_install

    await rollouts_install.ensure_crds(target)
    await sealed_install.prepare(target)


async def _add(
    *,
    context: str,
    kubeconfig: str | None,
    mgmt_context: str | None,
    namespace: str,
    name: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    managed_namespaces: Sequence[str],
    project: str,
    use_existing: bool,
    endpoint: str,
    upsert: bool,
    account: TargetAccount,
    core: bool = False,
) -> str:
    from tidegate.cli import cluster_remote
    from tidegate.controller import cluster_auth, clusters
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config
    from tidegate.model import errors

    target = kubeopts.cluster_config(kubeconfig, context)
    mgmt = kubeopts.cluster_config(kubeconfig, mgmt_context)
    server = target.server
    if endpoint != "kubeconfig" or not use_existing:
        async with kube_client.client_for(target) as target_client:
            server = await cluster_auth.endpoint(target_client, endpoint, target.server)
            if account.service_account and not use_existing:
                token, token_ca = await cluster_auth.account_token(
                    target_client, account.system_namespace, account.service_account
                )
            elif not use_existing:
                token, token_ca = await install_manager(target_client, account.system_namespace)
    async with kube_client.client_for(target) as target_client:
        await prepare_workload(target_client)
    if use_existing:
        stored = _stored_credentials(target)
    else:
        ca = target.ca_data or (base64.b64encode(token_ca.encode()).decode() if token_ca else None)
        stored = kube_config.ClusterConfig(
            server=target.server,
            ca_data=ca,
            insecure=target.insecure,
            server_name=target.server_name,
            bearer_token=token,
        )
    stored = dataclasses.replace(stored, server=server, name=name)
    # --kubeconfig names the target's file here, as in argocd: only --core/--context go direct
    async with remote.open_remote(core=core, kubeconfig=None, context=mgmt_context) as api:
        if api is not None:
            registration: dict[str, Any] = {
                "labels": dict(labels),
                "annotations": dict(annotations),
                "namespaces": list(managed_namespaces),
                "clusterResources": account.cluster_resources,
                "project": project,
            }
            if account.shard is not None:
                registration["shard"] = account.shard
            return await cluster_remote.add(api, name=name, url=server, stored=stored,
                                            registration=registration, upsert=upsert)  # fmt: skip
    async with kube_client.client_for(mgmt) as client:
        registry, secrets = await _registry(client, namespace, mgmt)
        existing = next(
            (
                s
                for s, c in zip(secrets, _parsed(secrets, mgmt), strict=True)
                if c.server.rstrip("/") == server.rstrip("/")
            ),
            None,
        )
        for other in registry.by_name(name):
            if other.server.rstrip("/") != server.rstrip("/") and not other.local:
                raise errors.ConfigError(
                    f"a cluster named '{name}' already exists with server {other.server}"
                    f" (Secret {other.secret_name}); choose another --name"
                )
        wanted = clusters.cluster_secret(
            name=name,
            server=server,
            config=stored,
            namespace=namespace,
            labels=labels,
            annotations=annotations,
            namespaces=managed_namespaces,
            cluster_resources=account.cluster_resources,
            project=project,
            secret_name=existing["metadata"]["name"] if existing else None,
            shard=account.shard,
        )
        if existing is None:
            await client.create(wanted)
            return f"cluster '{name}' added ({server})"
        if clusters.same_registration(existing, wanted):
            return f"cluster '{name}' unchanged ({server})"
        if not upsert:
            raise errors.ConfigError(
                f"cluster {server} is already registered (Secret "
                f"{existing['metadata']['name']}) with different settings; use --upsert to"
                " overwrite"
            )
        await client.replace(wanted)
        return f"cluster '{name}' updated ({server})"


def _one_context(context: str | None, deprecated: str | None) -> str | None:
    """``--context`` or its deprecated spelling ``--mgmt-context`` (a warning); both differing
    is a usage error."""
    if deprecated is None:
        return context
    typer.echo("warning: --mgmt-context is deprecated; use --context", err=True)
    if context is not None and context != deprecated:
        raise typer.BadParameter(
            f"--context {context!r} and --mgmt-context {deprecated!r} disagree;"
            " give --context only",
            param_hint="--context",
        )
    return deprecated


def _parsed(secrets: Sequence[Any], mgmt: kube_config.ClusterConfig) -> list[clusters.Cluster]:
    from tidegate.controller import clusters

    return [clusters.cluster_from_secret(s, management=mgmt) for s in secrets]


@app.command("add")
def add(
    context: str = typer.Argument(..., help="Kubeconfig context of the cluster to add."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    mgmt_context: str | None = kubeopts.CONTEXT_OPTION,
    deprecated_mgmt_context: str | None = typer.Option(
        None, "--mgmt-context", hidden=True, help="Deprecated spelling of --context."
    ),
    namespace: str = kubeopts.NAMESPACE_OPTION,
    name: str | None = typer.Option(None, "--name", help="Cluster name (default: CONTEXT)."),
    label: list[str] = LABEL_OPTION,
    annotation: list[str] = ANNOTATION_OPTION,
    managed_namespace: list[str] = typer.Option(
        [], "--managed-namespace", help="Restrict Tidegate to these namespaces (repeatable)."
    ),
    project: str = typer.Option("", "--project", help="AppProject the cluster belongs to."),
    use_existing_credentials: bool = typer.Option(
        False, "--use-existing-credentials", help="Store the kubeconfig's own credentials."
    ),
    in_cluster: bool = typer.Option(
        False,
        "--in-cluster",
        help=f"Tidegate runs in this cluster: use {constants.IN_CLUSTER_SERVER}.",
    ),
    upsert: bool = typer.Option(False, "--upsert", help="Overwrite a different registration."),
    yes: bool = YES_OPTION,
    service_account: str = typer.Option(
        "",
        "--service-account",
        help="An existing service account of --system-namespace to use (its token); no RBAC"
        " is created for it.",
    ),
    system_namespace: str = typer.Option(
        constants.CLUSTER_MANAGER_NAMESPACE,
        "--system-namespace",
        help="Namespace of the manager service account on the cluster.",
    ),
    cluster_resources: bool = typer.Option(
        False,
        "--cluster-resources",
        help="With --managed-namespace: also manage cluster-scoped resources.",
    ),
    cluster_endpoint: str = typer.Option(
        "kubeconfig",
        "--cluster-endpoint",
        help="Server to store: kubeconfig, kube-public (cluster-info) or internal.",
    ),
    shard: int | None = typer.Option(None, "--shard", help="Controller shard of the cluster."),
    core: bool = remote.CORE_OPTION,
) -> None:
    """Register the cluster of kubeconfig CONTEXT (service account token by default).

    The management cluster is --context (default: the current context), as in every command;
    CONTEXT names the cluster being added, in the same kubeconfig.
    """
    from tidegate.controller import cluster_auth

    if cluster_endpoint not in cluster_auth.ENDPOINTS:
        raise typer.BadParameter(
            f"{cluster_endpoint!r} is not one of {', '.join(cluster_auth.ENDPOINTS)}",
            param_hint="--cluster-endpoint",
        )
    if in_cluster:
        cluster_endpoint = "internal"
    if shard is not None and shard < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--shard")
    if service_account and use_existing_credentials:
        raise typer.BadParameter(
            "--service-account and --use-existing-credentials exclude each other",
            param_hint="--service-account",
        )
    mgmt_context = _one_context(mgmt_context, deprecated_mgmt_context)
    labels = parse_pairs(label, what="label", allow_remove=False)
    annotations = parse_pairs(annotation, what="annotation", allow_remove=False)
    message = kubeopts.run(
        _add(
            context=context,
            kubeconfig=kubeconfig,
            mgmt_context=mgmt_context,
            namespace=namespace,
            name=name or context,
            labels={k: v for k, v in labels.items() if v is not None},
            annotations={k: v for k, v in annotations.items() if v is not None},
            managed_namespaces=managed_namespace,
            project=project,
            use_existing=use_existing_credentials,
            endpoint=cluster_endpoint,
            upsert=upsert,
            account=TargetAccount(service_account, system_namespace, cluster_resources, shard),
            core=core,
        )
    )
    typer.echo(message)


# -- list / get -------------------------------------------------------------------------------


async def _cluster_infos(
    kubeconfig: str | None, context: str | None, namespace: str, core: bool = False
) -> list[dict[str, Any]]:
    """The clusters as ``list``/``get`` show them: Argo CD's Cluster messages of the API server
    of the login context, else built here from the management cluster (the same code)."""
    from tidegate.cli import cluster_remote
    from tidegate.controller import cluster_states
    from tidegate.kube import client as kube_client

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await cluster_remote.clusters(server)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        registry, _ = await _registry(client, namespace, mgmt)
        messages = await cluster_states.cluster_messages(client, namespace, registry)
    return [cluster_remote.info(m) for m in messages]


@app.command("list")
def list_(
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = output.OUTPUT_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """List clusters with their connection state and application counts."""
    infos = kubeopts.run(_cluster_infos(kubeconfig, context, namespace, core))
    if fmt in (output.Format.json, output.Format.yaml):
        output.dump(infos, fmt)
    else:
        headers = ["server", "name", "version", "status", "message", "apps", "cached"]
        if fmt is output.Format.wide:
            headers += ["project", "namespaces", "labels"]
        rows = []
        for info in infos:
            row = [
                info["server"],
                info["name"],
                info["serverVersion"],
                info["connectionState"]["status"],
                info["connectionState"]["message"],
                info["applicationsCount"],
                info["cachedObjects"],
            ]
            if fmt is output.Format.wide:
                labels = ",".join(f"{k}={v}" for k, v in info["labels"].items())
                row += [info["project"], ",".join(info["namespaces"]) or "(all)", labels]
            rows.append(row)
        output.table(headers, rows)


@app.command("get")
def get(
    cluster: str = typer.Argument(..., help="Cluster name or server URL."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    fmt: output.Format = typer.Option(output.Format.yaml, "--output", "-o", help="Output format."),
    core: bool = remote.CORE_OPTION,
) -> None:
    """Show one cluster (credentials masked)."""
    infos = kubeopts.run(_cluster_infos(kubeconfig, context, namespace, core))
    match = [i for i in infos if i["name"] == cluster] or [
        i for i in infos if i["server"].rstrip("/") == cluster.rstrip("/")
    ]
    if not match:
        raise output.fail(f"cluster '{cluster}' not found")
    info = match[0]
    if fmt in (output.Format.table, output.Format.wide):
        output.table(["field", "value"], [[k, json.dumps(v)] for k, v in info.items()])
    else:
        output.dump(info, fmt)


# -- set / rm ---------------------------------------------------------------------------------


async def _set(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    cluster: str,
    labels: Mapping[str, str | None],
    annotations: Mapping[str, str | None],
    project: str | None,
    new_name: str | None = None,
    core: bool = False,
) -> str:
    from tidegate.cli import cluster_remote
    from tidegate.controller import clusters
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await cluster_remote.set_(server, cluster, labels=labels,
                                             annotations=annotations, project=project,
                                             new_name=new_name)  # fmt: skip
    if constants.LABEL_SECRET_TYPE in labels:
        raise errors.ConfigError(f"label {constants.LABEL_SECRET_TYPE} cannot be changed")
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        registry, _ = await _registry(client, namespace, mgmt)
        found = _find(registry, cluster)
        for other in registry.by_name(new_name or ""):
            if other.server.rstrip("/") != found.server.rstrip("/"):
                raise errors.ConfigError(
                    f"cannot rename cluster '{found.name}' to '{new_name}': that name is"
                    f" cluster {other.server}'s"
                )
        if found.local:  # give the implicit in-cluster entry a Secret of its own, as Argo CD does
            secret = clusters.cluster_secret(
                name=new_name or found.name,
                server=found.server,
                config=kube_config.ClusterConfig(server=found.server),
                namespace=namespace,
                labels={k: v for k, v in labels.items() if v is not None},
                annotations={k: v for k, v in annotations.items() if v is not None},
                project=project or "",
            )
            await client.create(secret)
            return f"cluster '{found.name}' updated (Secret {secret['metadata']['name']} created)"
        patch: dict[str, Any] = {"metadata": {"labels": dict(labels)}}
        if annotations:
            patch["metadata"]["annotations"] = dict(annotations)
        data: dict[str, str | None] = {}
        if project is not None:
            data["project"] = base64.b64encode(project.encode()).decode() or None
        if new_name:
            data["name"] = base64.b64encode(new_name.encode()).decode()
        if data:
            patch["data"] = data
        key = ResourceKey("", "Secret", namespace, found.secret_name)
        await client.patch(key, patch, version="v1")
        renamed = f" (now '{new_name}')" if new_name and new_name != found.name else ""
        return f"cluster '{found.name}' updated{renamed}"


@app.command("set")
def set_(
    cluster: str = typer.Argument(..., help="Cluster name or server URL."),
    label: list[str] = typer.Option([], "--label", help="Set k=v or remove k- (repeatable)."),
    annotation: list[str] = typer.Option(
        [], "--annotation", help="Set k=v or remove k- (repeatable)."
    ),
    project: str | None = typer.Option(None, "--project", help="AppProject ('' to clear)."),
    name: str | None = typer.Option(
        None, "--name", help="Rename the cluster (apps naming the old name must follow)."
    ),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Change a cluster's name, labels, annotations or project."""
    labels = parse_pairs(label, what="label", allow_remove=True)
    annotations = parse_pairs(annotation, what="annotation", allow_remove=True)
    if name is not None and not name.strip():
        raise typer.BadParameter("must not be empty", param_hint="--name")
    if not labels and not annotations and project is None and name is None:
        raise typer.BadParameter(
            "nothing to change: give --name, --label, --annotation or --project"
        )
    message = kubeopts.run(
        _set(
            kubeconfig=kubeconfig,
            context=context,
            namespace=namespace,
            cluster=cluster,
            labels=labels,
            annotations=annotations,
            project=project,
            new_name=name,
            core=core,
        )
    )
    typer.echo(message)


async def _rm(
    kubeconfig: str | None, context: str | None, namespace: str, cluster: str, core: bool
) -> str:
    from tidegate.cli import cluster_remote
    from tidegate.kube import client as kube_client
    from tidegate.model import errors
    from tidegate.model.keys import ResourceKey

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await cluster_remote.rm(server, cluster)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        registry, _ = await _registry(client, namespace, mgmt)
        found = _find(registry, cluster)
        if found.local:
            raise errors.ConfigError(
                f"cluster '{found.name}' ({found.server}) is the management cluster itself;"
                " it cannot be removed"
            )
        key = ResourceKey("", "Secret", namespace, found.secret_name)
        await client.delete(key, version="v1")
        return f"cluster '{found.name}' removed ({found.server})"


@app.command("rm")
def rm(
    cluster: str = typer.Argument(..., help="Cluster name or server URL."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    yes: bool = YES_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Remove a cluster's Secret (the management cluster cannot be removed)."""
    typer.echo(kubeopts.run(_rm(kubeconfig, context, namespace, cluster, core)))


async def _rotate(
    kubeconfig: str | None, context: str | None, namespace: str, cluster: str, core: bool
) -> str:
    from tidegate.cli import cluster_remote
    from tidegate.controller import cluster_auth
    from tidegate.kube import client as kube_client

    async with remote.open_remote(core=core, kubeconfig=kubeconfig, context=context) as server:
        if server is not None:
            return await cluster_remote.rotate_auth(server, cluster)
    mgmt = kubeopts.cluster_config(kubeconfig, context)
    async with kube_client.client_for(mgmt) as client:
        registry, _ = await _registry(client, namespace, mgmt)
        return await cluster_auth.rotate_registration(client, namespace, _find(registry, cluster))


@app.command("rotate-auth")
def rotate_auth(
    cluster: str = typer.Argument(..., help="Cluster name or server URL."),
    kubeconfig: str | None = kubeopts.KUBECONFIG_OPTION,
    context: str | None = kubeopts.CONTEXT_OPTION,
    namespace: str = kubeopts.NAMESPACE_OPTION,
    core: bool = remote.CORE_OPTION,
) -> None:
    """Issue a new token for the cluster's service account, store it, and revoke the old ones
    (argocd cluster rotate-auth)."""
    typer.echo(kubeopts.run(_rotate(kubeconfig, context, namespace, cluster, core)))
