"""``tidegate app diff`` through the API server (logged in): the server renders and compares
(``GET /api/v1/applications/{name}/managed-resources``, its own comparison settings), and the
CLI prints the modified resources' diffs as the direct mode does, with the same exit codes.

What needs the management cluster is refused (exit 2, as any diff error): ``--local`` (and its
``--local-repo-root``/``--server-side-generate``/``--local-include``), ``--revision``/
``--revisions`` (the endpoint compares the target revision). ``--refresh``/``--hard-refresh``
ask the controller to refresh first (``GET ?refresh=``), as argocd's. The comparison flags
(``--ignore-normalizer-jq-execution-timeout``, ``--server-side-diff*``) bound the CLI's own
comparison only: given through the server, stderr says they do not apply.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer

from tidegate.cli import app_remote, app_sync_preview, output


async def diff(
    apps: app_remote.RemoteApps,
    app_name: str,
    *,
    refresh: str | None,
    needs_cluster: Sequence[str],
    tuning_given: Sequence[str],
) -> bool:
    """Print the differences; True when in sync."""
    if needs_cluster:
        raise output.fail(
            f"{', '.join(needs_cluster)}: not through the API server (the server compares the"
            " target revision of Git); use --core with the management cluster's kubeconfig",
            2,
        )
    for flag in tuning_given:
        typer.echo(f"note: {flag} bounds the CLI's own comparison; the server's applies", err=True)
    if refresh:
        await apps.refreshed(app_name, hard=refresh == "hard", within=60)
    path = f"/api/v1/applications/{app_name}/managed-resources"
    body = await apps.call("GET", path, params=apps.app_params())
    items = [dict(i) for i in body.get("items") or []]
    return app_sync_preview.print_diffs(items) == 0
