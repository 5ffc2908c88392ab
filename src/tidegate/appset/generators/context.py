"""What generators read: the caller's clusters and git contents, plus the template engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tidegate.appset import template


class GitReader(Protocol):
    """Read-only view of repositories at a revision, supplied by the caller.

    Tests pass an in-memory implementation. The controller passes one backed by its local
    repository cache (fetched beforehand), and runs generation in a worker thread.
    """

    def list_dirs(self, repo: str, revision: str) -> list[str]:
        """Every directory of the tree at ``revision``, recursively, relative, no leading '/'."""
        ...

    def read_files(self, repo: str, revision: str, glob: str) -> dict[str, bytes]:
        """Contents of the files whose path matches ``glob`` (``paths.glob_match`` semantics)."""
        ...


@dataclasses.dataclass(frozen=True)
class Context:
    """Inputs shared by every generator of one ApplicationSet.

    ``clusters``: one mapping per cluster: ``name``, ``server``, ``labels``, ``annotations``,
    optionally ``project``, and ``local: True`` for the implicit in-cluster entry that has no
    Secret (it is only selected by a generator without a selector, as in Argo CD).
    """

    renderer: template.Renderer
    clusters: Sequence[Mapping[str, Any]] = ()
    git: GitReader | None = None

    @property
    def go_template(self) -> bool:
        return self.renderer.go_template
