"""``tidegate app diff`` and ``app manifests``: compare an Application locally, no controller.

Reads the Application and the cluster/repository Secrets of the control namespace, resolves
the destination with :class:`~tidegate.controller.clusters.ClusterRegistry`, renders with
``controller.compare.render_app`` and fetches live objects with one GET per key: every target
plus every resource the app's status lists (never a list of the whole cluster). The
comparison itself is the controller's (``controller.compare.compare``), so the CLI and the
controller cannot disagree. The installation id is the controller's too: argocd-cm's
``installationID``, else the one the running controller publishes (its ``--installation-id``).
Secret values are masked in every output.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidegate.cli import app_access
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey

if TYPE_CHECKING:
    from tidegate.controller import compare as cmp
    from tidegate.kube import client as kube_client
    from tidegate.model import application as model_app

Obj = dict[str, Any]
FETCH_CONCURRENCY = 8


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("tidegate")) / "cli-repos"


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
    apps: app_access.Apps, raw: Obj, *, cache_dir: Path | None
) -> AsyncIterator[Context]:
    """Parse the app, resolve its destination cluster and connect to it."""
    from tidegate import kube, render, sources
    from tidegate.controller import clusters
    from tidegate.controller import compare as cmp
    from tidegate.model import application as model_app
    from tidegate.render import plugin_config

    app = model_app.parse_application(raw)
    secrets = await apps.secrets()
    repo_secrets = [s for s in secrets if _secret_type(s) != constants.SECRET_TYPE_CLUSTER]
    registry = clusters.ClusterRegistry(
        [s for s in secrets if _secret_type(s) == constants.SECRET_TYPE_CLUSTER],
        management=apps.config,
    )
    dest = app.spec.destination
    try:
        cluster = registry.resolve(dest.server, dest.name)
        config = cluster.require_config()
    except errors.TidegateError as exc:
        raise errors.ConfigError(f"Application {app.namespace}/{app.name}: {exc}") from None
    project = await apps.project(app.spec.project_name) or {}
    source_repos = tuple(str(p) for p in (project.get("spec") or {}).get("sourceRepos") or [])
    deps = cmp.CompareDeps(
        repos=sources.RepoCache(cache_dir or default_cache_dir()),
        render_cache=render.RenderCache(),
        repo_secrets=lambda: repo_secrets,
        installation_id=await installation_id(apps),
        source_repos=lambda _project: source_repos,
        plugins=render.PluginRegistry(plugin_config.default_directory()).current,
    )
    deps.jq.timeout = await jq_timeout(apps)
    try:
        async with kube.client_for(config) as client:
            yield Context(raw, app, client, deps, cluster.name)
    finally:
        await deps.jq.aclose()  # the jq worker processes, if any started


async def _configmap(apps: app_access.Apps, name: str) -> Obj:
    key = ResourceKey("", "ConfigMap", apps.namespace, name)
    return await apps.client.get_or_none(key, version="v1") or {}


async def installation_id(apps: app_access.Apps) -> str:
    """argocd-cm ``installationID``; else the id the controller publishes on its cluster-status
    ConfigMap (set by ``tidegate controller --installation-id``); else none."""
    from tidegate.controller import argocdcm

    data = (await _configmap(apps, argocdcm.CONFIGMAP_NAME)).get("data") or {}
    found = str(data.get(argocdcm.INSTALLATION_ID_KEY) or "").strip()
    if found:
        return found
    published = (await _configmap(apps, constants.CLUSTER_STATUS_CONFIGMAP)).get("metadata") or {}
    annotations = published.get("annotations") or {}
    return str(annotations.get(constants.ANNOTATION_PUBLISHED_INSTALLATION_ID) or "")


async def jq_timeout(apps: app_access.Apps) -> float:
    """argocd-cm ``ignore.normalizer.jq.timeout``, as the controller reads it (default 1 s)."""
    from tidegate.controller import argocdcm

    data = (await _configmap(apps, argocdcm.CONFIGMAP_NAME)).get("data") or {}
    wanted = {argocdcm.JQ_TIMEOUT_KEY: data.get(argocdcm.JQ_TIMEOUT_KEY, "")}
    return argocdcm.parse(wanted).jq_timeout


def _secret_type(secret: Mapping[str, Any]) -> str:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return str(labels.get(constants.LABEL_SECRET_TYPE) or "")


async def render_targets(
    ctx: Context, *, revision: str | None, hard: bool
) -> dict[ResourceKey, Obj]:
    """The rendered objects as they will be sent (namespaces and tracking ids settled, as the
    comparison has them)."""
    from tidegate.controller import compare as cmp
    from tidegate.sync import prepare

    rendered = await cmp.render_app(
        ctx.app, deps=ctx.deps, revision_override=revision, max_age=0.0 if hard else None
    )
    return await prepare.settle(
        rendered.objects,
        client=ctx.client,
        destination_namespace=ctx.app.spec.destination.namespace or "",
        app_name=ctx.app.name,
        method=ctx.deps.tracking,
        installation_id=ctx.deps.installation_id,
    )


def _status_keys(raw: Mapping[str, Any]) -> dict[ResourceKey, str]:
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
    for key, status_version in _status_keys(ctx.raw).items():
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
            app_name=ctx.app.name,
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


def masked(objs: Sequence[Mapping[str, Any]]) -> list[Obj]:
    """Copies for display: Secret values masked, managedFields dropped."""
    import copy

    from tidegate.diff import mask

    out = []
    for obj in objs:
        shown: Obj = copy.deepcopy(dict(obj))
        meta = shown.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        mask.mask_secrets(shown)
        out.append(shown)
    return out


def print_diff(comparison: cmp.Comparison, *, no_color: bool) -> int:
    """Print each out-of-sync resource's diff; the number of resources printed."""
    from rich.console import Console
    from rich.text import Text

    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    styles = {"+": "green", "-": "red", "@": "cyan"}
    count = 0
    for state in comparison.resources:
        if state.hook or state.diff is None:
            continue
        if not state.diff.modified and not (state.live is None and state.target is not None):
            continue
        count += 1
        key = state.key
        where = f"{key.namespace}/{key.name}" if key.namespace else key.name
        kind = f"{key.group}/{key.kind}" if key.group else key.kind
        console.print(Text(f"===== {kind} {where} ======", style="bold"))
        for line in state.diff.diff_text.splitlines():
            style = "bold" if line.startswith(("+++", "---")) else styles.get(line[:1], "")
            console.print(Text(line, style=style))
    return count
