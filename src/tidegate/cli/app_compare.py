"""``tidegate app diff`` and ``app manifests``: compare an Application locally, no controller.

The work is :mod:`tidegate.controller.local_compare` (shared with the API's managed-resources
and manifests); this module adds the CLI's repository cache directory and the coloured diff.
Secret values are masked in every output.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidegate.cli import app_access
from tidegate.controller import local_compare

if TYPE_CHECKING:
    from tidegate.controller import compare as cmp

Obj = dict[str, Any]


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("tidegate")) / "cli-repos"


@contextlib.asynccontextmanager
async def open_context(
    apps: app_access.Apps, raw: Obj, *, cache_dir: Path | None
) -> AsyncIterator[local_compare.Context]:
    """Parse the app, resolve its destination cluster and connect to it (the CLI's cache)."""
    async with local_compare.open_context(
        apps, raw, cache_dir=cache_dir or default_cache_dir()
    ) as ctx:
        yield ctx


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
