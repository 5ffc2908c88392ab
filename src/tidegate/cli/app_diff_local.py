"""``tidegate app diff --local DIR``: render a local directory with the app's source settings
(its kustomize/helm/directory/plugin options, destination namespace, tracking) and compare it
with the live state, as ``argocd app diff --local`` does — no commit, no push.

The app's single Git source is pointed at the local tree: ``--local-repo-root`` (default:
DIR itself) plays the repository, and the source's ``path`` becomes DIR relative to it (so a
kustomization that reaches ``../base`` needs ``--local-repo-root`` at or above the base). Only
that repository URL is served from disk; remote kustomize bases still come from Git. The
comparison is the controller's own (``app_compare.compare_locally``). Multi-source apps and
Helm-repository/OCI chart sources are refused (argocd refuses them too).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidegate.model import errors
from tidegate.sources import RepoCache

if TYPE_CHECKING:
    from tidegate.controller import local_compare
    from tidegate.sources import credentials as creds_mod

LOCAL_COMMIT = "local"


class LocalTree(RepoCache):
    """A repository cache that serves one repository URL from a local directory."""

    def __init__(self, cache_root: Path, *, url: str, tree: Path) -> None:
        super().__init__(cache_root)
        self._url, self._tree = url, tree

    async def resolve(
        self, repo_url: str, revision: str, *,
        creds: creds_mod.RepoCredentials | None = None,
        generation: int | None = None, max_age: float | None = None,
    ) -> str:  # fmt: skip
        if repo_url == self._url:
            return LOCAL_COMMIT
        return await super().resolve(
            repo_url, revision, creds=creds, generation=generation, max_age=max_age
        )

    async def checkout(
        self, repo_url: str, commit: str, *, creds: creds_mod.RepoCredentials | None = None
    ) -> Path:
        if repo_url == self._url and commit == LOCAL_COMMIT:
            return self._tree
        return await super().checkout(repo_url, commit, creds=creds)


def local_path(local: Path, repo_root: Path | None) -> tuple[Path, str]:
    """(the tree serving as the repository, the source path inside it)."""
    directory = local.resolve()
    if not directory.is_dir():
        raise errors.ConfigError(f"--local {local}: not a directory")
    root = (repo_root or directory).resolve()
    try:
        inside = directory.relative_to(root)
    except ValueError:
        raise errors.ConfigError(
            f"--local {local} is not inside --local-repo-root {repo_root}"
        ) from None
    return root, inside.as_posix() or "."


def point_at_local(ctx: local_compare.Context, local: Path, repo_root: Path | None,
                   cache_root: Path) -> None:  # fmt: skip
    """Make ``ctx`` render its app's source from ``local``."""
    app = ctx.app
    label = f"Application {app.namespace}/{app.name}"
    if app.spec.sources:
        raise errors.ConfigError(f"{label}: --local is not supported for multi-source apps")
    src = app.spec.source
    if src is None or src.chart:
        raise errors.ConfigError(f"{label}: --local needs a Git source with a path")
    root, path = local_path(local, repo_root)
    update: dict[str, Any] = {"path": path}
    spec = app.spec.model_copy(update={"source": src.model_copy(update=update)})
    ctx.app = app.model_copy(update={"spec": spec})
    ctx.deps.repos = LocalTree(cache_root, url=src.repo_url, tree=root)
