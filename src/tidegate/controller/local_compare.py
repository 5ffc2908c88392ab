"""Render and compare one Application on demand, outside the controller's loop.

Used by ``tidegate app diff|manifests`` and by the API's ``managed-resources`` and
``manifests``. Reads the cluster/repository Secrets and the project of the control namespace,
resolves the destination with :class:`~tidegate.controller.clusters.ClusterRegistry`, renders
with :func:`~tidegate.controller.compare.render_app` and fetches live objects with one GET per
key: every target plus every resource the app's status lists (never a list of the whole
cluster). The comparison itself is the controller's (:func:`~tidegate.controller.compare.compare`),
so the CLI, the API and the controller cannot disagree. The installation id is the controller's
too: argocd-cm's ``installationID``, else the one the running controller publishes (its
``--installation-id``). :func:`masked` and :func:`resource_diffs` mask Secret values.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey

if TYPE_CHECKING:
    from tidegate.controller import compare as cmp
    from tidegate.kube import client as kube_client
    from tidegate.kube import config as kube_config
    from tidegate.model import application as model_app

Obj = dict[str, Any]
FETCH_CONCURRENCY = 8


class ControlNamespace(Protocol):
    """The control namespace on the management cluster, as the CLI and the API reach it."""

    client: kube_client.KubeClient
    namespace: str
    config: kube_config.ClusterConfig

    async def secrets(self) -> list[Obj]:
        """The cluster, repository and repo-creds Secrets."""
        ...

    async def project(self, name: str) -> Obj | None: ...


@dataclasses.dataclass
class Context:
    """Everything a local comparison needs, connected."""

    raw: Obj
    app: model_app.Application
    client: kube_client.KubeClient
    deps: cmp.CompareDeps
    cluster_name: str


@contextlib.asynccontextmanager
async def open_context(
    apps: ControlNamespace, raw: Obj, *, cache_dir: Path
) -> AsyncIterator[Context]:
    """Parse the app, resolve its destination cluster and connect to it."""
    from tidegate import render, sources
    from tidegate.controller import compare as cmp
    from tidegate.model import application as model_app
    from tidegate.render import plugin_config

    app = model_app.parse_application(raw)
    secrets = await apps.secrets()
    repo_secrets = [s for s in secrets if _secret_type(s) != constants.SECRET_TYPE_CLUSTER]
    project = await apps.project(app.spec.project_name) or {}
    source_repos = tuple(str(p) for p in (project.get("spec") or {}).get("sourceRepos") or [])
    deps = cmp.CompareDeps(
        repos=sources.RepoCache(cache_dir),
        render_cache=render.RenderCache(),
        repo_secrets=lambda: repo_secrets,
        installation_id=await installation_id(apps),
        control_namespace=apps.namespace,  # tracking ids: <name> for its apps
        source_repos=lambda _project: source_repos,
        plugins=render.PluginRegistry(plugin_config.default_directory()).current,
    )
    deps.jq.timeout = await jq_timeout(apps)
    try:
        async with _connect(app, secrets, apps.config) as (cluster_name, client):
            yield Context(raw, app, client, deps, cluster_name)
    finally:
        await deps.jq.aclose()  # the jq worker processes, if any started


@contextlib.asynccontextmanager
async def destination(
    apps: ControlNamespace, raw: Obj
) -> AsyncIterator[tuple[str, kube_client.KubeClient]]:
    """The app's destination cluster: its name and a client connected to it."""
    from tidegate.model import application as model_app

    app = model_app.parse_application(raw)
    async with _connect(app, await apps.secrets(), apps.config) as connected:
        yield connected


async def destination_config(
    apps: ControlNamespace, raw: Obj
) -> tuple[str, kube_config.ClusterConfig]:
    """The app's destination cluster: its name and how to reach it (not connected)."""
    from tidegate.model import application as model_app

    app = model_app.parse_application(raw)
    return _resolve(app, await apps.secrets(), apps.config)


def _resolve(
    app: model_app.Application, secrets: Sequence[Obj], management: kube_config.ClusterConfig
) -> tuple[str, kube_config.ClusterConfig]:
    from tidegate.controller import clusters

    registry = clusters.ClusterRegistry(
        [s for s in secrets if _secret_type(s) == constants.SECRET_TYPE_CLUSTER],
        management=management,
    )
    dest = app.spec.destination
    try:
        cluster = registry.resolve(dest.server, dest.name)
        return cluster.name, cluster.require_config()
    except errors.TidegateError as exc:
        raise errors.ConfigError(f"Application {app.namespace}/{app.name}: {exc}") from None


@contextlib.asynccontextmanager
async def _connect(
    app: model_app.Application, secrets: Sequence[Obj], management: kube_config.ClusterConfig
) -> AsyncIterator[tuple[str, kube_client.KubeClient]]:
    from tidegate import kube

    name, config = _resolve(app, secrets, management)
    async with kube.client_for(config) as client:
        yield name, client


async def configmap(apps: ControlNamespace, name: str) -> Obj:
    key = ResourceKey("", "ConfigMap", apps.namespace, name)
    return await apps.client.get_or_none(key, version="v1") or {}


async def installation_id(apps: ControlNamespace) -> str:
    """argocd-cm ``installationID``; else the id the controller publishes on its cluster-status
    ConfigMap (set by ``tidegate controller --installation-id``); else none."""
    from tidegate.controller import argocdcm

    data = (await configmap(apps, argocdcm.CONFIGMAP_NAME)).get("data") or {}
    found = str(data.get(argocdcm.INSTALLATION_ID_KEY) or "").strip()
    if found:
        return found
    published = (await configmap(apps, constants.CLUSTER_STATUS_CONFIGMAP)).get("metadata") or {}
    annotations = published.get("annotations") or {}
    return str(annotations.get(constants.ANNOTATION_PUBLISHED_INSTALLATION_ID) or "")


async def jq_timeout(apps: ControlNamespace) -> float:
    """argocd-cm ``ignore.normalizer.jq.timeout``, as the controller reads it (default 1 s)."""
    from tidegate.controller import argocdcm

    data = (await configmap(apps, argocdcm.CONFIGMAP_NAME)).get("data") or {}
    wanted = {argocdcm.JQ_TIMEOUT_KEY: data.get(argocdcm.JQ_TIMEOUT_KEY, "")}
    return argocdcm.parse(wanted).jq_timeout


async def control_secrets(client: kube_client.KubeClient, namespace: str) -> list[Obj]:
    """The cluster, repository and repo-creds Secrets of the control namespace (one list)."""
    from tidegate.kube import discovery

    secrets = discovery.APIResource("", "v1", "Secret", "secrets", True, frozenset({"list"}))
    kinds = (
        constants.SECRET_TYPE_CLUSTER,
        constants.SECRET_TYPE_REPOSITORY,
        constants.SECRET_TYPE_REPO_CREDS,
    )
    selector = f"{constants.LABEL_SECRET_TYPE} in ({','.join(kinds)})"
    result = await client.list(secrets, namespace=namespace, label_selector=selector)
    return result.items


def _secret_type(secret: Mapping[str, Any]) -> str:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return str(labels.get(constants.LABEL_SECRET_TYPE) or "")


async def render_targets(
    ctx: Context, *, revision: str | None, hard: bool
) -> dict[ResourceKey, Obj]:
    """The rendered objects as they will be sent (namespaces and tracking ids settled, as the
    comparison has them)."""
    return (await render(ctx, revision=revision, hard=hard))[1]


async def render(
    ctx: Context, *, revision: str | None, hard: bool
) -> tuple[cmp.Rendered, dict[ResourceKey, Obj]]:
    """The render (revisions, source types) and its objects keyed as they will be on the
    cluster (namespaces settled)."""
    from tidegate.controller import compare as cmp
    from tidegate.sync import prepare

    rendered = await cmp.render_app(
        ctx.app, deps=ctx.deps, revision_override=revision, max_age=0.0 if hard else None
    )
    targets = await prepare.settle(
        rendered.objects,
        client=ctx.client,
        destination_namespace=ctx.app.spec.destination.namespace or "",
        app_name=ctx.app.instance_name(ctx.deps.control_namespace),
        method=ctx.deps.tracking,
        installation_id=ctx.deps.installation_id,
    )
    return rendered, targets


def status_keys(raw: Mapping[str, Any]) -> dict[ResourceKey, str]:
    """The app's resources (not hooks) as the controller recorded them, with versions."""
    out: dict[ResourceKey, str] = {}
    for res in (raw.get("status") or {}).get("resources") or []:
        if res.get("hook"):
            continue
        key = ResourceKey(
            str(res.get("group") or ""),
            str(res.get("kind") or ""),
            str(res.get("namespace") or ""),
            str(res.get("name") or ""),
        )
        out[key] = str(res.get("version") or "")
    return out


async def fetch_live(ctx: Context, targets: Mapping[ResourceKey, Obj]) -> list[Obj]:
    """Live objects of the targets' keys, and of the status' resources that still carry this
    app's tracking annotation (those are the ones to prune)."""
    from tidegate.sync import prepare

    wanted: dict[ResourceKey, tuple[str | None, bool]] = {}
    for key, status_version in status_keys(ctx.raw).items():
        wanted[key] = (status_version or None, False)
    for key, obj in targets.items():
        wanted[key] = (str(obj.get("apiVersion") or "").rpartition("/")[2] or None, True)
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(key: ResourceKey, version: str | None, target: bool) -> Obj | None:
        if not key.kind or not key.name:
            return None
        async with gate:
            try:
                found = await ctx.client.get_or_none(key, version=version)
            except errors.UnknownKindError:
                return None
        if found is None:
            return None
        if not target and not prepare.is_tracked_by(
            found,
            app_name=ctx.app.instance_name(ctx.deps.control_namespace),
            method=ctx.deps.tracking,
            installation_id=ctx.deps.installation_id,
        ):
            return None
        return found

    results = await asyncio.gather(*(one(k, v, t) for k, (v, t) in wanted.items()))
    return [r for r in results if r is not None]


async def compare_locally(ctx: Context, *, revision: str | None, hard: bool) -> cmp.Comparison:
    from tidegate.controller import compare as cmp

    targets = await render_targets(ctx, revision=revision, hard=hard)
    live = await fetch_live(ctx, targets)
    # The render above refreshed the repository (when asked); this one reuses it.
    return await cmp.compare(
        ctx.app, client=ctx.client, live=live, deps=ctx.deps, revision_override=revision
    )


def masked(objs: Sequence[Mapping[str, Any]], *, together: bool = False) -> list[Obj]:
    """Copies for display: Secret values masked, managedFields dropped. ``together``: the
    objects are versions of one resource, an equal value gets the same mask in each."""
    import copy

    from tidegate.diff import mask

    out = []
    for obj in objs:
        shown: Obj = copy.deepcopy(dict(obj))
        meta = shown.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        out.append(shown)
    if together:
        mask.mask_secrets(*out)
    else:
        for shown in out:
            mask.mask_secrets(shown)
    return out


def resource_diffs(comparison: cmp.Comparison) -> list[Obj]:
    """Argo CD's ``ResourceDiff`` items (``managed-resources``): every state a JSON string,
    Secret values masked (the same value gets the same mask across the versions of one
    resource), managedFields dropped. Pure."""
    items = []
    for state in comparison.resources:
        target, live = masked([state.target or {}, state.live or {}], together=True)
        diff = state.diff
        normalized = diff.normalized_live if diff is not None else None
        predicted = diff.normalized_target if diff is not None else None
        item: Obj = {
            "group": state.key.group,
            "kind": state.key.kind,
            "namespace": state.key.namespace,
            "name": state.key.name,
            "targetState": _state(target if state.target is not None else None),
            "liveState": _state(live if state.live is not None else None),
            "normalizedLiveState": _state(normalized),
            "predictedLiveState": _state(predicted),
            "modified": bool(diff is not None and diff.modified) or state.live is None,
            "hook": state.hook,
        }
        if diff is not None and diff.diff_text:
            item["diff"] = diff.diff_text
        version = str(((state.live or {}).get("metadata") or {}).get("resourceVersion") or "")
        if version:
            item["resourceVersion"] = version
        items.append(item)
    return items


def _state(obj: Mapping[str, Any] | None) -> str:
    return json.dumps(obj, sort_keys=True) if obj is not None else "null"
