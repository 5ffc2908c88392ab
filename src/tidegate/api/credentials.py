"""ClusterService and RepositoryService over the labelled Secrets. Never a credential back.

Clusters and repositories are Argo CD's labelled Secrets in the control namespace, read with the
controller's own parsers (:mod:`tidegate.controller.clusters`, :mod:`tidegate.controller.repos`).
Replies carry what Argo CD shows: names, servers, URLs, flags, and which kinds of credentials
exist, with every secret value masked (certificates ``DATA+OMITTED``). A cluster is addressed by
its URL-encoded server (``id.type=server``, the default) or by name (``id.type=name``); a
repository by its URL-encoded URL. Creating one (``upsert`` to replace a different one) writes
the Secret the CLI's ``cluster add`` / ``repo add`` would write; a cluster's
``execProviderConfig`` (a command the controller would run) is refused over the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, errors, security
from tidegate.auth import access
from tidegate.controller import cluster_auth, cluster_states, clusters, repo_states, repos
from tidegate.kube import config as kube_config
from tidegate.kube import discovery
from tidegate.model import constants
from tidegate.model import errors as tg_errors
from tidegate.sources import urls

router = fastapi.APIRouter(tags=["ClusterService", "RepositoryService"])
Obj = dict[str, Any]
SECRETS = discovery.APIResource(
    "", "v1", "Secret", "secrets", True, frozenset({"get", "list", "delete"})
)


async def secrets_of_type(ctx: context.ServerContext, secret_type: str) -> list[Obj]:
    selector = f"{constants.LABEL_SECRET_TYPE}={secret_type}"
    result = await ctx.client.list(SECRETS, namespace=ctx.namespace, label_selector=selector)
    return result.items


async def delete_secret(ctx: context.ServerContext, name: str) -> None:
    await ctx.client.request(
        "DELETE",
        SECRETS.path(ctx.namespace, name),
        what=f"delete Secret {ctx.namespace}/{name}",
    )


# -- clusters -----------------------------------------------------------------------------------


async def _registry(ctx: context.ServerContext) -> clusters.ClusterRegistry:
    return await cluster_states.registry_of(ctx.client, ctx.namespace)


def _matches(cluster: clusters.Cluster, value: str, id_type: str) -> bool:
    if id_type == "name":
        return cluster.name == value
    return cluster.server.rstrip("/") == value.rstrip("/")


@router.get("/api/v1/clusters", summary="List clusters")
async def list_clusters(
    request: Request,
    subject: access.Subject = security.Subject,
    server: str = "",
    name: str = "",
) -> Obj:
    """The clusters (the implicit in-cluster entry too, as Argo CD lists it), each with its
    connection state, server version and application count (``cluster_states``)."""
    ctx = context.of(request)
    registry = await _registry(ctx)
    shown = []
    for cluster in registry.clusters():
        if (server and not _matches(cluster, server, "server")) or (name and cluster.name != name):
            continue
        try:
            security.authorize(subject, "clusters", "get", cluster.server)
        except access.PermissionDeniedError:
            continue
        shown.append(cluster)
    items = await cluster_states.cluster_messages(ctx.client, ctx.namespace, registry, shown)
    return {"metadata": {}, "items": items}


async def _one_cluster(request: Request, value: str, id_type: str) -> clusters.Cluster:
    if id_type not in ("server", "name"):
        raise errors.ApiError(400, "id.type must be 'server' or 'name'")
    for cluster in (await _registry(context.of(request))).clusters():
        if _matches(cluster, value, id_type):
            return cluster
    raise errors.ApiError(404, f"cluster {value[:200]!r} not found")


IdType = Annotated[str, fastapi.Query(alias="id.type")]


@router.get("/api/v1/clusters/{server:path}", summary="Get a cluster")
async def get_cluster(
    request: Request,
    server: str,
    subject: access.Subject = security.Subject,
    id_type: IdType = "server",
) -> Obj:
    cluster = await _one_cluster(request, server, id_type)
    security.authorize(subject, "clusters", "get", cluster.server)
    ctx = context.of(request)
    registry = await _registry(ctx)
    [found] = await cluster_states.cluster_messages(ctx.client, ctx.namespace, registry, [cluster])
    return found


@router.delete("/api/v1/clusters/{server:path}", summary="Remove a cluster")
async def delete_cluster(
    request: Request,
    server: str,
    subject: access.Subject = security.Subject,
    id_type: IdType = "server",
) -> Obj:
    cluster = await _one_cluster(request, server, id_type)
    security.authorize(subject, "clusters", "delete", cluster.server)
    if cluster.local:
        raise errors.ApiError(
            400,
            f"cluster '{cluster.name}' ({cluster.server}) is the management cluster itself;"
            " it cannot be removed",
        )
    await delete_secret(context.of(request), cluster.secret_name)
    return {}


@router.post("/api/v1/clusters/{server:path}/rotate-auth", summary="Rotate a cluster's token")
async def rotate_cluster_auth(
    request: Request,
    server: str,
    subject: access.Subject = security.Subject,
    id_type: IdType = "server",
) -> Obj:
    """Argo CD's RotateAuth: a new token for the cluster's service account, proven, stored,
    the old ones revoked (``cluster_auth.rotate_registration``, as ``tidegate cluster
    rotate-auth`` does); ``message`` (Tidegate's addition) says which account, never a token."""
    cluster = await _one_cluster(request, server, id_type)
    security.authorize(subject, "clusters", "update", cluster.server)
    ctx = context.of(request)
    try:
        message = await cluster_auth.rotate_registration(ctx.client, ctx.namespace, cluster)
    except tg_errors.ConfigError as exc:
        raise errors.ApiError(400, str(exc)) from None
    return {"message": message}


# -- repositories -------------------------------------------------------------------------------


async def _repositories(ctx: context.ServerContext) -> list[repos.Repository]:
    return repos.repositories(await secrets_of_type(ctx, constants.SECRET_TYPE_REPOSITORY))


def _same_repo(repo: Mapping[str, Any] | repos.Repository, url: str) -> bool:
    value = repo.url if isinstance(repo, repos.Repository) else str(repo.get("url") or "")
    return urls.normalise(value) == urls.normalise(url)


async def _with_states(ctx: context.ServerContext, found: list[repos.Repository]) -> list[Obj]:
    """Argo CD's Repository messages of ``found``, each access tested now (``forceRefresh``)."""
    secrets = [
        s
        for kind in (constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_REPO_CREDS)
        for s in await secrets_of_type(ctx, kind)
    ]
    trust = await repos.trust(ctx.client, ctx.namespace)
    states = await repo_states.connection_states(found, secrets, trust)
    return [repo_states.repository_json(r, s) for r, s in zip(found, states, strict=True)]


ForceRefresh = Annotated[bool, fastapi.Query(alias="forceRefresh")]


@router.get("/api/v1/repositories", summary="List repositories")
async def list_repositories(
    request: Request,
    subject: access.Subject = security.Subject,
    repo: str = "",
    force_refresh: ForceRefresh = False,
) -> Obj:
    """Without ``forceRefresh`` a repository's ``connectionState`` is ``Unknown`` (``Failed``
    when its Secret cannot be read); with it, every listed repository is tested now."""
    ctx = context.of(request)
    shown = []
    for found in await _repositories(ctx):
        if repo and not _same_repo(found, repo):
            continue
        try:
            security.authorize(subject, "repositories", "get", f"{found.project}/{found.url}")
        except access.PermissionDeniedError:
            continue
        shown.append(found)
    if force_refresh:
        return {"metadata": {}, "items": await _with_states(ctx, shown)}
    return {"metadata": {}, "items": [repo_states.repository_json(r) for r in shown]}


async def _one_repo(request: Request, url: str) -> repos.Repository:
    for found in await _repositories(context.of(request)):
        if _same_repo(found, url):
            return found
    raise errors.ApiError(404, f"repository {urls.display(url)[:200]!r} not found")


@router.get("/api/v1/repositories/{repo:path}", summary="Get a repository")
async def get_repository(
    request: Request,
    repo: str,
    subject: access.Subject = security.Subject,
    force_refresh: ForceRefresh = False,
) -> Obj:
    found = await _one_repo(request, repo)
    security.authorize(subject, "repositories", "get", f"{found.project}/{found.url}")
    if force_refresh:
        return (await _with_states(context.of(request), [found]))[0]
    return repo_states.repository_json(found)


@router.delete("/api/v1/repositories/{repo:path}", summary="Remove a repository")
async def delete_repository(
    request: Request, repo: str, subject: access.Subject = security.Subject
) -> Obj:
    found = await _one_repo(request, repo)
    security.authorize(subject, "repositories", "delete", f"{found.project}/{found.url}")
    await delete_secret(context.of(request), found.secret_name)
    return {}


# -- creating registrations ---------------------------------------------------------------------


async def create_secret(
    request: Request,
    wanted: Obj,
    *,
    upsert: bool,
    same: Any,
    what: str,
) -> None:
    """Create the Secret; an existing one with the same registration is kept, a different one
    is replaced only with ``upsert`` (based on the version read)."""
    ctx = context.of(request)
    name = wanted["metadata"]["name"]
    try:
        await ctx.client.create(wanted)
        return
    except tg_errors.KubeConflictError:
        pass
    path = SECRETS.path(ctx.namespace, name)
    current = (await ctx.client.request("GET", path, what=f"get Secret {name}")).body
    if same(current, wanted):
        return
    if not upsert:
        raise errors.ApiError(
            400, f"existing {what} spec is different; use upsert flag to force update"
        )
    wanted["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    try:
        await ctx.client.replace(wanted)
    except tg_errors.KubeConflictError:
        raise errors.ApiError(409, f"{what} changed meanwhile; try again", grpc_code=10) from None


REPO_FIELDS = repo_states.SPEC_FIELDS
BOOL_FIELDS = frozenset(
    {
        "insecure",
        "insecure_ignore_host_key",
        "enable_lfs",
        "force_basic_auth",
        "enable_oci",
        "insecure_oci_force_http",
        "webhook_manifest_cache_warm_disabled",
    }
)


READ_ONLY = frozenset(  # as a GET shows
    {"connectionState", "inheritedCreds", "credentials", "secretName"}
)


def repo_spec(
    body: Mapping[str, Any], *, url_field: str = "repo", what: str = "repository"
) -> repos.RepoSpec:
    """The registration a Repository (or RepoCreds, ``url_field="url"``) body asks for; 400
    naming the field when it is unknown or of the wrong type."""
    fields = {url_field: "url", **{k: v for k, v in REPO_FIELDS.items() if k != "repo"}}
    unknown = sorted(set(body) - set(fields) - READ_ONLY)
    if unknown:
        raise errors.ApiError(400, f"unknown {what} field(s): {', '.join(unknown)[:200]}")
    values = {fields[k]: v for k, v in body.items() if k in fields and v is not None}
    for key, value in values.items():
        if key in ("depth", "github_app_id", "github_app_installation_id"):
            # int64 in Argo CD's protobuf: a number, or its JSON string form
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise errors.ApiError(400, f"{what} field for {key} has the wrong type")
            if key == "depth":
                try:
                    values[key] = int(value)
                except ValueError:
                    raise errors.ApiError(400, f"{what} field depth is not a number") from None
            else:
                values[key] = "" if value in (0, "0") else str(value)
            continue
        wanted_type = bool if key in BOOL_FIELDS else str
        if not isinstance(value, wanted_type):
            raise errors.ApiError(400, f"{what} field for {key} has the wrong type")
    url = str(values.pop("url", "") or "")
    if not url:
        raise errors.ApiError(400, f"{what} needs '{url_field}', its URL")
    return repos.RepoSpec.parse(url, **values)


@router.post("/api/v1/repositories", summary="Register a repository")
async def create_repository(
    request: Request, subject: access.Subject = security.Subject, upsert: bool = False
) -> Obj:
    spec = repo_spec(await security.json_object(request))
    security.authorize(
        subject, "repositories", "create", f"{spec.project}/{urls.display(spec.url)}"
    )
    ctx = context.of(request)
    existing = repos.find(
        await secrets_of_type(ctx, constants.SECRET_TYPE_REPOSITORY), spec.url
    )  # a registration made otherwise (kubectl) keeps its Secret's name
    secret = repos.repository_secret(
        spec,
        namespace=ctx.namespace,
        secret_name=existing["metadata"]["name"] if existing else None,
    )
    await create_secret(
        request, secret, upsert=upsert, same=repos.same_registration, what="repository"
    )
    return repo_states.repository_json(repos.repository_from_secret(secret))


@router.post("/api/v1/clusters", summary="Register a cluster")
async def create_cluster(
    request: Request, subject: access.Subject = security.Subject, upsert: bool = False
) -> Obj:
    body = await security.json_object(request)
    secret = _cluster_secret(request, body, subject, "create")
    registered = (await _registry(context.of(request))).by_server(str(body["server"]))
    if registered is not None and not registered.local:  # keeps its Secret's name
        secret["metadata"]["name"] = registered.secret_name
    await create_secret(
        request, secret, upsert=upsert, same=clusters.same_registration, what="cluster"
    )
    ctx = context.of(request)
    return cluster_states.cluster_json(
        clusters.cluster_from_secret(secret, management=ctx.client.config)
    )


@router.put("/api/v1/clusters/{server:path}", summary="Update a cluster")
async def update_cluster(
    request: Request,
    server: str,
    subject: access.Subject = security.Subject,
    id_type: IdType = "server",
) -> Obj:
    """Argo CD's UpdateCluster: the body is the whole Cluster; it must exist (404) and keep its
    server URL. The Secret keeps its name; nothing is written on a bad body."""
    body = await security.json_object(request)
    current = await _one_cluster(request, server, id_type)
    if str(body.get("server") or current.server).rstrip("/") != current.server.rstrip("/"):
        raise errors.ApiError(400, "a cluster's server URL cannot be changed; add a new cluster")
    # the implicit in-cluster entry gets a Secret of its own, without credentials
    plain = kube_config.ClusterConfig(server=current.server) if current.local else None
    known = clusters.config_document(current.config) if current.config is not None else {}
    config = {} if plain else _unmasked(body.get("config"), known)
    wanted = {**body, "server": current.server, "config": config}
    secret = _cluster_secret(request, wanted, subject, "update", parsed=plain)
    if not current.local:
        secret["metadata"]["name"] = current.secret_name
    await create_secret(
        request, secret, upsert=True, same=clusters.same_registration, what="cluster"
    )
    ctx = context.of(request)
    return cluster_states.cluster_json(
        clusters.cluster_from_secret(secret, management=ctx.client.config)
    )


def _unmasked(config: Any, known: Mapping[str, Any]) -> Any:
    """A Cluster body's ``config`` with the masked values a GET showed (``********``,
    ``DATA+OMITTED``) or a missing config replaced by the stored ones."""
    if config is None:
        return dict(known)
    if not isinstance(config, dict):
        return config
    shown = (clusters.MASK, "DATA+OMITTED")
    out = dict(config)
    for key in ("bearerToken", "password"):
        if out.get(key) in shown:
            out[key] = known.get(key)
    tls = out.get("tlsClientConfig")
    if isinstance(tls, dict):
        known_tls = known.get("tlsClientConfig") or {}
        out["tlsClientConfig"] = {
            k: (known_tls.get(k) if v in shown else v) for k, v in tls.items()
        }
    return out


def _cluster_secret(
    request: Request,
    body: Mapping[str, Any],
    subject: access.Subject,
    action: str,
    *,
    parsed: kube_config.ClusterConfig | None = None,
) -> Obj:
    """The cluster Secret a Cluster body asks for (validated, authorised, not written);
    ``parsed``: connection settings decided by the caller instead of the body's ``config``."""
    server = body.get("server")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise errors.ApiError(400, "cluster needs 'server', an https:// URL")
    config = body.get("config") or {}
    if not isinstance(config, dict):
        raise errors.ApiError(400, "cluster config must be an object")
    if config.get("execProviderConfig"):
        raise errors.ApiError(
            400,
            "execProviderConfig runs a command on the controller: register such clusters "
            "with a Secret (kubectl), not over the API",
        )
    name = str(body.get("name") or "") or server
    namespaces = body.get("namespaces") or []
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        raise errors.ApiError(400, "namespaces must be a list of names")
    ctx = context.of(request)
    security.authorize(subject, "clusters", action, server)
    probe = {
        "metadata": {"namespace": ctx.namespace, "name": "api-request"},
        "stringData": {"server": server, "name": name, "config": json.dumps(config)},
    }
    try:
        parsed = parsed or kube_config.from_cluster_secret(probe)
    except tg_errors.ConfigError as exc:
        raise errors.ApiError(400, str(exc).replace("cluster Secret", "cluster")) from None
    return clusters.cluster_secret(
        name=name,
        server=server,
        config=parsed,
        namespace=ctx.namespace,
        labels=_strings(body.get("labels")),
        annotations=_strings(body.get("annotations")),
        namespaces=namespaces,
        cluster_resources=bool(body.get("clusterResources")),
        project=str(body.get("project") or ""),
        shard=_shard(body.get("shard")),
    )


def _shard(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.ApiError(400, "shard must be a number, 0 or more")
    return value


def _strings(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.ApiError(400, "labels and annotations must be objects of strings")
    return {str(k): str(v) for k, v in value.items()}
