"""argocd's multi-source revision flags, shared by ``app sync``, ``app diff`` and ``app
manifests``: ``--revisions R`` (repeat) with as many ``--source-positions N`` (1-based) or
``--source-names S``. ``sync`` sends them as the operation's ``revisions``; ``diff`` and
``manifests`` render each chosen source at its revision instead of its ``targetRevision``
(:func:`pin`), nothing written. The rules and usage errors are
:func:`tidegate.sync.request.source_revisions`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tidegate.controller import local_compare

Revisions = Annotated[
    list[str] | None,
    typer.Option("--revisions", help="Multi-source: the revision of each chosen source."),
]
SourcePositions = Annotated[
    list[int] | None,
    typer.Option("--source-positions", help="Multi-source: the sources (1-based) to set."),
]
SourceNames = Annotated[
    list[str] | None,
    typer.Option("--source-names", help="Multi-source: the sources to set, by name."),
]


def pin(
    ctx: local_compare.Context,
    *,
    revision: str | None,
    revisions: list[str] | None,
    positions: list[int] | None,
    names: list[str] | None,
) -> None:
    """Point the chosen sources of ``ctx.app`` at the given revisions (a no-op without
    ``--revisions``); FlagError (exit 2) as ``app sync`` refuses them."""
    from tidegate.sync import request

    wanted = request.source_revisions(
        ctx.raw.get("spec") or {},
        request.SyncRequest(
            revision=revision,
            revisions=tuple(revisions or ()),
            source_positions=tuple(positions or ()),
            source_names=tuple(names or ()),
        ),
    )
    if wanted is None:
        return
    app = ctx.app
    sources = [
        src.model_copy(update={"target_revision": rev})
        for src, rev in zip(app.spec.sources or [], wanted, strict=True)
    ]
    ctx.app = app.model_copy(update={"spec": app.spec.model_copy(update={"sources": sources})})
