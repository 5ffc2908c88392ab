"""The entry point: turn a source path in a checked-out tree into tracked Kubernetes objects.

Detection follows Argo CD's discovery: registered config management plugins with discovery
rules are tried first (:mod:`render.plugin`), then a kustomization file makes a Kustomize source
(it wins over a ``Chart.yaml`` next to it), a ``Chart.yaml`` a Helm source, anything else a
Directory. An explicit ``source_type`` in the request skips detection.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tidegate.model import errors
from tidegate.render import (
    cache as render_cache,
)
from tidegate.render import (
    directory,
    helm,
    kustomize,
    manifests,
    paths,
    plugin,
    remotes,
    request,
    tools,
    tracking,
)


def detect_source_type(app_dir: Path) -> request.SourceType:
    if kustomize.find_kustomization(app_dir) is not None:
        return request.SourceType.KUSTOMIZE
    if (app_dir / "Chart.yaml").is_file():
        return request.SourceType.HELM
    return request.SourceType.DIRECTORY


def _locate(req: request.RenderRequest) -> tuple[Path, Path]:
    root = req.root.resolve()
    if not root.is_dir():
        raise errors.RenderError(f"repository tree for commit {req.commit!r} is missing")
    app_dir = paths.resolve_inside(root, req.path or ".", what="source path")
    if not app_dir.is_dir():
        raise errors.RenderError(f"source path {req.path!r} is not a directory in the repository")
    return root, app_dir


def _may_be_plugin(req: request.RenderRequest) -> bool:
    """An explicit plugin source, or an untyped one while plugins are registered (Argo CD tries
    the plugins' discovery before detecting Kustomize, Helm or Directory)."""
    if req.source_type is request.SourceType.PLUGIN:
        return True
    return req.source_type is None and any(p.discovers for p in req.plugins)


async def _check_tree(root: Path, commit: str, cache: render_cache.RenderCache | None) -> None:
    """Refuse the whole tree if a symlink leaves it (renderer binaries follow symlinks)."""
    if cache is not None and cache.tree_checked(root, commit):
        return
    await asyncio.to_thread(paths.check_symlinks, root, root)
    if cache is not None:
        cache.mark_tree_checked(root, commit)


async def _render_builtin(
    req: request.RenderRequest,
    root: Path,
    app_dir: Path,
    source_type: request.SourceType,
    *,
    cache: render_cache.RenderCache | None,
    limits: request.RenderLimits,
    budget: manifests.ByteBudget,
    found: tools.Tools | None,
    fetcher: remotes.Fetcher,
) -> list[dict[str, Any]]:
    """Directory, Kustomize or Helm."""
    if source_type == request.SourceType.DIRECTORY:
        return await asyncio.to_thread(
            directory.render_directory,
            root,
            app_dir,
            options=req.directory,
            limits=limits,
            budget=budget,
        )
    found = found if found is not None else tools.discover()
    await _check_tree(root, req.commit, cache)
    if source_type == request.SourceType.KUSTOMIZE:
        return await kustomize.render_kustomize(
            root, app_dir, req=req, limits=limits, budget=budget, found=found, fetcher=fetcher
        )
    return await helm.render_helm(
        root, app_dir, req=req, limits=limits, budget=budget, found=found, fetcher=fetcher
    )


async def _render_uncached(
    req: request.RenderRequest,
    *,
    cache: render_cache.RenderCache | None,
    limits: request.RenderLimits,
    found: tools.Tools | None,
    repos: remotes.RemoteRepos | None,
) -> request.RenderResult:
    root, app_dir = await asyncio.to_thread(_locate, req)
    budget = manifests.ByteBudget(limits.max_total_bytes)
    fetcher = remotes.Fetcher(repos, req.source_repos, max_trees=limits.max_remote_repos)
    objects: list[dict[str, Any]] | None = None
    source_type = request.SourceType.PLUGIN
    if _may_be_plugin(req):
        await _check_tree(root, req.commit, cache)  # the plugin gets a copy of the tree
        objects = await plugin.render_plugin(root, app_dir, req=req, limits=limits, budget=budget)
    if objects is None:
        source_type = (
            req.source_type
            if req.source_type is not None
            else await asyncio.to_thread(detect_source_type, app_dir)
        )
        objects = await _render_builtin(
            req,
            root,
            app_dir,
            source_type,
            cache=cache,
            limits=limits,
            budget=budget,
            found=found,
            fetcher=fetcher,
        )
    tracking.apply_tracking(
        objects,
        app_name=req.app_name,
        method=req.tracking,
        installation_id=req.installation_id,
    )
    return request.RenderResult(tuple(objects), source_type, budget.used, tuple(fetcher.pins))


async def plugin_parameters(
    req: request.RenderRequest, *, limits: request.RenderLimits = request.RenderLimits()
) -> list[dict[str, Any]]:
    """The parameters announced by the plugin ``req`` would use (``parameters.dynamic`` output,
    then ``parameters.static``), for the CLI and the API to show (Argo CD's app details)."""
    root, app_dir = await asyncio.to_thread(_locate, req)
    await _check_tree(root, req.commit, None)
    return await plugin.parameters_announcement(root, app_dir, req=req, limits=limits)


async def render(
    req: request.RenderRequest,
    *,
    cache: render_cache.RenderCache | None = None,
    limits: request.RenderLimits = request.RenderLimits(),
    found: tools.Tools | None = None,
    repos: remotes.RemoteRepos | None = None,
    fresh: bool = False,
) -> request.RenderResult:
    """Render ``req``. With a cache and a non-empty commit, a repeat is a dictionary lookup and
    the returned objects are shared: do not mutate them (see ``RenderResult.copy_objects``).
    ``found`` overrides binary discovery (see :mod:`tidegate.render.tools`). ``repos`` checks
    and fetches the remote repositories the source references (none allowed without it).
    ``fresh`` (a hard refresh): what the cache holds for ``req`` is dropped and rendered again,
    as Argo CD's hard refresh regenerates the manifests (a plugin or a chart may read more
    than the commit: the cache key cannot know)."""

    async def run() -> request.RenderResult:
        return await _render_uncached(req, cache=cache, limits=limits, found=found, repos=repos)

    if cache is None or not req.commit:
        return await run()
    key = req.cache_key()
    if fresh:
        cache.forget(key)
    result = await cache.get_or_render(key, run)
    if result.remote_pins and not await remotes.pins_current(repos, result.remote_pins):
        cache.discard(key, result)  # a remote ref moved: render again
        result = await cache.get_or_render(key, run)
    return result
