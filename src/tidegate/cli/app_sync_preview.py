"""What ``tidegate app sync`` looks at before it requests the operation, as argocd's CLI does:
``--label K=V`` (sync only the app's resources whose rendered manifest carries one of the
labels) and ``--preview-changes`` (print the diff of live and desired state, then ask; with
``--assumeYes`` do not ask).

Both read the app's comparison where the mode has it: through the API server (``GET
.../manifests`` and ``.../managed-resources``, the server renders and compares) when logged in,
else the controller's own render and comparison run here
(:mod:`tidegate.controller.local_compare`, as ``app diff``). Exit codes follow argocd: a
preview without differences prints ``====== No Differences found ======`` and syncs nothing
(exit 0); answering anything but yes stops before the sync (exit 0, nothing requested).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tidegate.cli import app_diff_opts, output

if TYPE_CHECKING:
    from tidegate.cli import app_access, app_remote

Obj = dict[str, Any]


def parse_labels(values: Sequence[str]) -> dict[str, str]:
    """``--label K=V`` values; a usage error (exit 2) for one without ``=`` or key."""
    labels: dict[str, str] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise output.fail(f"--label: {raw!r} is not KEY=VALUE", 2)
        labels[key] = value
    return labels


def labelled(manifests: Iterable[Mapping[str, Any]], labels: Mapping[str, str]) -> list[Obj]:
    """The ``operation.sync.resources`` entries of the manifests carrying at least one of
    ``labels`` (argocd: any label matching selects the resource). Pure."""
    chosen: list[Obj] = []
    for obj in manifests:
        meta = obj.get("metadata") or {}
        have = meta.get("labels") or {}
        if not any(have.get(k) == v for k, v in labels.items()):
            continue
        api = str(obj.get("apiVersion") or "")
        entry: Obj = {
            "group": api.rpartition("/")[0],
            "kind": str(obj.get("kind") or ""),
            "name": str(meta.get("name") or ""),
        }
        if meta.get("namespace"):
            entry["namespace"] = str(meta["namespace"])
        if entry not in chosen:
            chosen.append(entry)
    return chosen


def merge_resources(chosen: list[Obj] | None, by_label: list[Obj]) -> list[Obj]:
    """``--resource`` and ``--label`` together select both sets (as argocd appends them)."""
    out = list(chosen or [])
    out.extend(r for r in by_label if r not in out)
    return out


class Look:
    """The app's rendered manifests and resource diffs, in either mode."""

    def __init__(
        self,
        apps: app_access.Apps | app_remote.RemoteApps,
        raw: Obj,
        *,
        tuning: app_diff_opts.Tuning,
        cache_dir: Path | None,
        local: tuple[Path, Path | None] | None = None,
    ) -> None:
        self.apps, self.raw, self.tuning, self.cache_dir = apps, raw, tuning, cache_dir
        self.local = local

    async def manifests(self, revision: str | None) -> list[Obj]:
        from tidegate.cli import app_remote

        meta = self.raw["metadata"]
        if isinstance(self.apps, app_remote.RemoteApps):
            params = {"revision": revision} if revision else {}
            params.update(self.apps.params_of(self.raw))
            body = await self.apps.call(
                "GET", f"/api/v1/applications/{meta['name']}/manifests", params=params
            )
            return [json.loads(m) for m in body.get("manifests") or []]
        from tidegate.controller import local_compare

        async with self._context() as ctx:
            return list((await local_compare.render_targets(ctx, revision=revision,
                                                             hard=False)).values())  # fmt: skip

    async def diffs(self, revision: str | None) -> list[Obj]:
        """Argo CD's ResourceDiff items (``diff`` text, ``modified``), Secret values masked."""
        from tidegate.cli import app_remote

        meta = self.raw["metadata"]
        if isinstance(self.apps, app_remote.RemoteApps):
            body = await self.apps.call(
                "GET",
                f"/api/v1/applications/{meta['name']}/managed-resources",
                params=self.apps.params_of(self.raw),
            )
            return [dict(i) for i in body.get("items") or []]
        from tidegate.controller import local_compare

        async with self._context() as ctx:
            comparison = await local_compare.compare_locally(ctx, revision=revision, hard=False)
        return local_compare.resource_diffs(comparison)

    def _context(self) -> Any:
        import contextlib

        from tidegate.cli import app_compare

        @contextlib.asynccontextmanager
        async def opened() -> Any:
            async with app_compare.open_context(
                self.apps,  # type: ignore[arg-type]
                self.raw,
                cache_dir=self.cache_dir,
            ) as ctx:
                app_diff_opts.apply(ctx, self.tuning)
                if self.local is not None:
                    from tidegate.cli import app_diff_local

                    cache_root = self.cache_dir or app_compare.default_cache_dir()
                    app_diff_local.point_at_local(ctx, self.local[0], self.local[1], cache_root)
                yield ctx

        return opened()


def print_diffs(items: Sequence[Mapping[str, Any]]) -> int:
    """Print the diff of each modified, non-hook resource; how many were printed."""
    count = 0
    for item in items:
        if item.get("hook") or not item.get("modified"):
            continue
        count += 1
        kind = f"{item.get('group')}/{item.get('kind')}" if item.get("group") else item.get("kind")
        where = "/".join(str(p) for p in (item.get("namespace"), item.get("name")) if p)
        typer.echo(f"===== {kind} {where} ======")
        text = str(item.get("diff") or "")
        if not text and item.get("liveState") in (None, "null"):
            text = "(not on the cluster yet: created by the sync)"
        typer.echo(text.rstrip("\n"))
    return count


def confirmed(question: str) -> bool:
    """Ask on the terminal; only ``y``/``yes`` proceeds (end of input is a no)."""
    typer.echo(question, nl=False)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


async def preview(look: Look, *, qualified: str, revision: str | None, assume_yes: bool) -> bool:
    """Print the differences; True when the sync should go on."""
    typer.echo(
        f"====== Previewing differences between live and desired state of application"
        f" {qualified} ======"
    )
    if not print_diffs(await look.diffs(revision)):
        typer.echo("====== No Differences found ======")
        return False
    if assume_yes:
        return True
    return confirmed(
        f"Please review changes to application {qualified} shown above. Do you want to"
        " continue the sync process? (y/n): "
    )
