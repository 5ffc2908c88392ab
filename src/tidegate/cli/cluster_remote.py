"""``tidegate cluster`` through the API server of the login context.

The server's ClusterService replies are Argo CD's Cluster messages, which the direct mode
builds too (:func:`tidegate.controller.cluster_states.cluster_json`); :func:`info` turns either
into what ``cluster list|get`` print, so output and exit codes are the same in both modes.
``add`` does its work on the *target* cluster from the user's kubeconfig (the service account
and its token, as ``argocd cluster add`` does) and sends only the registration; ``set`` sends
the whole Cluster back (``PUT``), its credentials left out so the server keeps them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tidegate.cli import remote
from tidegate.model import constants, errors

if TYPE_CHECKING:
    from tidegate.kube import config as kube_config

Obj = dict[str, Any]
PATH = "/api/v1/clusters"
DIFFERENT = "spec is different"  # the server's 400 for a create that would change a cluster


def info(message: Mapping[str, Any]) -> Obj:
    """What ``cluster list|get`` show of a Cluster message, in either mode."""
    details = message.get("info") or {}
    state = details.get("connectionState") or message.get("connectionState") or {}
    cache = details.get("cacheInfo") or {}
    return {
        "name": message.get("name") or "",
        "server": message.get("server") or "",
        "labels": dict(message.get("labels") or {}),
        "annotations": dict(message.get("annotations") or {}),
        "namespaces": list(message.get("namespaces") or []),
        "clusterResources": bool(message.get("clusterResources")),
        "project": message.get("project") or "",
        "shard": message.get("shard"),
        "secretName": message.get("secretName") or None,
        "connectionState": {
            "status": state.get("status") or "Unknown",
            "message": state.get("message") or "",
        },
        "serverVersion": details.get("serverVersion") or message.get("serverVersion") or "",
        "applicationsCount": details.get("applicationsCount"),
        "cachedObjects": cache.get("resourcesCount"),
        "lastUpdated": cache.get("lastCacheSyncTime"),
        "config": message.get("config"),
    }


async def clusters(server: remote.Remote) -> list[Obj]:
    return [info(i) for i in await server.items(PATH)]


def find(found: list[Obj], name_or_server: str) -> Obj:
    """The cluster named so (when the name is unique), else the one of that server URL."""
    by_name = [c for c in found if c["name"] == name_or_server]
    if len(by_name) == 1:
        return by_name[0]
    for cluster in found:
        if cluster["server"].rstrip("/") == name_or_server.rstrip("/"):
            return cluster
    raise errors.ConfigError(f"cluster '{name_or_server}' not found")


def _one(server_url: str) -> str:
    return f"{PATH}/{remote.quote(server_url)}"


async def add(
    server: remote.Remote,
    *,
    name: str,
    url: str,
    stored: kube_config.ClusterConfig,
    registration: Mapping[str, Any],
    upsert: bool,
) -> str:
    """Register the cluster of server ``url`` with the connection settings ``stored`` and
    ``registration`` (labels, annotations, namespaces, clusterResources, project, shard)."""
    from tidegate.controller import clusters as clusters_mod

    found = await clusters(server)
    for other in found:
        if (
            other["name"] == name
            and other["server"].rstrip("/") != url.rstrip("/")
            and other["secretName"]
        ):
            raise errors.ConfigError(
                f"a cluster named '{name}' already exists with server {other['server']}"
                f" (Secret {other['secretName']}); choose another --name"
            )
    existing = next((c for c in found if c["server"].rstrip("/") == url.rstrip("/")), None)
    if existing is not None and not existing["secretName"]:
        existing = None  # the implicit in-cluster entry: registering it creates its Secret
    body = {
        **registration,
        "server": url,
        "name": name,
        "config": clusters_mod.config_document(stored),
    }
    if existing is None:
        await server.call("POST", PATH, body=body)
        return f"cluster '{name}' added ({url})"
    try:
        await server.call("POST", PATH, body=body)
        return f"cluster '{name}' unchanged ({url})"
    except errors.ConfigError as exc:
        if DIFFERENT not in str(exc):
            raise
    if not upsert:
        raise errors.ConfigError(
            f"cluster {url} is already registered (Secret {existing['secretName']}) with"
            " different settings; use --upsert to overwrite"
        )
    await server.call("POST", PATH, body=body, params={"upsert": "true"})
    return f"cluster '{name}' updated ({url})"


def _merged(current: Mapping[str, str], change: Mapping[str, str | None]) -> dict[str, str]:
    out = dict(current)
    for key, value in change.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


async def set_(
    server: remote.Remote,
    cluster: str,
    *,
    labels: Mapping[str, str | None],
    annotations: Mapping[str, str | None],
    project: str | None,
    new_name: str | None,
) -> str:
    if constants.LABEL_SECRET_TYPE in labels:
        raise errors.ConfigError(f"label {constants.LABEL_SECRET_TYPE} cannot be changed")
    found = await clusters(server)
    current = find(found, cluster)
    for other in found:
        if other["name"] == (new_name or "") and other["server"].rstrip("/") != current[
            "server"
        ].rstrip("/"):
            raise errors.ConfigError(
                f"cannot rename cluster '{current['name']}' to '{new_name}': that name is"
                f" cluster {other['server']}'s"
            )
    local = not current["secretName"]
    body: Obj = {
        "server": current["server"],
        "name": new_name or current["name"],
        "labels": _merged({} if local else current["labels"], labels),
        "annotations": _merged({} if local else current["annotations"], annotations),
        "namespaces": current["namespaces"],
        "clusterResources": current["clusterResources"],
        "project": current["project"] if project is None else project,
    }
    if current["shard"] is not None:
        body["shard"] = current["shard"]
    updated = await server.call("PUT", _one(current["server"]), body=body)
    if local:
        return f"cluster '{current['name']}' updated (Secret {updated.get('secretName')} created)"
    renamed = f" (now '{new_name}')" if new_name and new_name != current["name"] else ""
    return f"cluster '{current['name']}' updated{renamed}"


async def rm(server: remote.Remote, cluster: str) -> str:
    found = find(await clusters(server), cluster)
    if not found["secretName"]:
        raise errors.ConfigError(
            f"cluster '{found['name']}' ({found['server']}) is the management cluster itself;"
            " it cannot be removed"
        )
    await server.call("DELETE", _one(found["server"]))
    return f"cluster '{found['name']}' removed ({found['server']})"


async def rotate_auth(server: remote.Remote, cluster: str) -> str:
    """Argo CD's ``POST .../rotate-auth``: the server rotates the token; its reply says what
    the direct mode prints (Tidegate's ``message``)."""
    found = find(await clusters(server), cluster)
    done = await server.call("POST", f"{_one(found['server'])}/rotate-auth")
    return str(done.get("message") or f"cluster '{found['name']}' credentials rotated")
