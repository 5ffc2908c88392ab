"""ClusterService and RepositoryService: list, get, delete the labelled Secrets. Never a credential.

Clusters and repositories are Argo CD's labelled Secrets in the control namespace, read with the
controller's own parsers (:mod:`tidegate.controller.clusters`, :mod:`tidegate.controller.repos`).
Replies carry what Argo CD shows: names, servers, URLs, flags, and which kinds of credentials
exist, with every secret value masked (certificates ``DATA+OMITTED``). A cluster is addressed by
its URL-encoded server (``id.type=server``, the default) or by name (``id.type=name``); a
repository by its URL-encoded URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, errors, security
from tidegate.auth import access
from tidegate.controller import clusters, repos
from tidegate.kube import discovery
from tidegate.model import constants
from tidegate.sources import urls

router = fastapi.APIRouter(tags=["ClusterService", "RepositoryService"])
Obj = dict[str, Any]
SECRETS = discovery.APIResource(
    "", "v1", "Secret", "secrets", True, frozenset({"get", "list", "delete"})
)


async def _secrets(ctx: context.ServerContext, secret_type: str) -> list[Obj]:
    selector = f"{constants.LABEL_SECRET_TYPE}={secret_type}"
    result = await ctx.client.list(SECRETS, namespace=ctx.namespace, label_selector=selector)
    return result.items


async def _delete_secret(ctx: context.ServerContext, name: str) -> None:
    await ctx.client.request(
        "DELETE",
        SECRETS.path(ctx.namespace, name),
        what=f"delete Secret {ctx.namespace}/{name}",
    )


# -- clusters -----------------------------------------------------------------------------------


def cluster_json(cluster: clusters.Cluster) -> Obj:
    """Argo CD's Cluster message for a registration, its credentials masked."""
    out: Obj = {
        "server": cluster.server,
        "name": cluster.name,
        "config": clusters.masked_config(cluster.config),
        "namespaces": list(cluster.namespaces),
        "clusterResources": cluster.cluster_resources,
        "labels": dict(cluster.labels),
        "annotations": dict(cluster.annotations),
    }
    if cluster.project:
        out["project"] = cluster.project
    if cluster.shard is not None:
        out["shard"] = cluster.shard
    if cluster.error:
        out["connectionState"] = {"status": "Failed", "message": cluster.error}
    return out


async def _clusters(ctx: context.ServerContext) -> list[clusters.Cluster]:
    found = [
        clusters.cluster_from_secret(s, management=ctx.client.config)
        for s in await _secrets(ctx, constants.SECRET_TYPE_CLUSTER)
    ]
    return sorted(found, key=lambda c: (c.name, c.server))


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
    ctx = context.of(request)
    items = []
    for cluster in await _clusters(ctx):
        if (server and not _matches(cluster, server, "server")) or (name and cluster.name != name):
            continue
        try:
            security.authorize(subject, "clusters", "get", cluster.server)
        except access.PermissionDeniedError:
            continue
        items.append(cluster_json(cluster))
    return {"metadata": {}, "items": items}


async def _one_cluster(request: Request, value: str, id_type: str) -> clusters.Cluster:
    if id_type not in ("server", "name"):
        raise errors.ApiError(400, "id.type must be 'server' or 'name'")
    for cluster in await _clusters(context.of(request)):
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
    return cluster_json(cluster)


@router.delete("/api/v1/clusters/{server:path}", summary="Remove a cluster")
async def delete_cluster(
    request: Request,
    server: str,
    subject: access.Subject = security.Subject,
    id_type: IdType = "server",
) -> Obj:
    cluster = await _one_cluster(request, server, id_type)
    security.authorize(subject, "clusters", "delete", cluster.server)
    await _delete_secret(context.of(request), cluster.secret_name)
    return {}


# -- repositories -------------------------------------------------------------------------------


def repository_json(repo: repos.Repository) -> Obj:
    """Argo CD's Repository message: no password, key or token, only that they exist."""
    out: Obj = {
        "repo": repo.url,
        "type": repo.type,
        "name": repo.name,
        "insecure": repo.insecure,
        "enableLfs": repo.enable_lfs,
        "forceHttpBasicAuth": repo.force_basic_auth,
        "inheritedCreds": False,
        "credentials": list(repo.credentials),
    }
    if repo.project:
        out["project"] = repo.project
    if repo.username:
        out["username"] = repo.username
    if repo.error:
        out["connectionState"] = {"status": "Failed", "message": repo.error}
    return out


async def _repositories(ctx: context.ServerContext) -> list[repos.Repository]:
    return repos.repositories(await _secrets(ctx, constants.SECRET_TYPE_REPOSITORY))


def _same_repo(repo: Mapping[str, Any] | repos.Repository, url: str) -> bool:
    value = repo.url if isinstance(repo, repos.Repository) else str(repo.get("url") or "")
    return urls.normalise(value) == urls.normalise(url)


@router.get("/api/v1/repositories", summary="List repositories")
async def list_repositories(
    request: Request, subject: access.Subject = security.Subject, repo: str = ""
) -> Obj:
    items = []
    for found in await _repositories(context.of(request)):
        if repo and not _same_repo(found, repo):
            continue
        try:
            security.authorize(subject, "repositories", "get", f"{found.project}/{found.url}")
        except access.PermissionDeniedError:
            continue
        items.append(repository_json(found))
    return {"metadata": {}, "items": items}


async def _one_repo(request: Request, url: str) -> repos.Repository:
    for found in await _repositories(context.of(request)):
        if _same_repo(found, url):
            return found
    raise errors.ApiError(404, f"repository {urls.display(url)[:200]!r} not found")


@router.get("/api/v1/repositories/{repo:path}", summary="Get a repository")
async def get_repository(
    request: Request, repo: str, subject: access.Subject = security.Subject
) -> Obj:
    found = await _one_repo(request, repo)
    security.authorize(subject, "repositories", "get", f"{found.project}/{found.url}")
    return repository_json(found)


@router.delete("/api/v1/repositories/{repo:path}", summary="Remove a repository")
async def delete_repository(
    request: Request, repo: str, subject: access.Subject = security.Subject
) -> Obj:
    found = await _one_repo(request, repo)
    security.authorize(subject, "repositories", "delete", f"{found.project}/{found.url}")
    await _delete_secret(context.of(request), found.secret_name)
    return {}
