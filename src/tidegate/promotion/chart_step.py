"""The ``helm-update-chart`` promotion step (I/O: the file, the ``helm`` binary, the chart
repositories).

Kargo's step: ``path`` is a chart directory; each of ``charts[]`` (``repository``, ``name``,
``version``) sets the version of the Chart.yaml dependency with that repository and name
(usually ``${{ chartFrom(...).Version }}``). Then the dependencies are built as ``helm dependency
update`` builds them: ``Chart.lock`` rewritten and the packaged charts in ``charts/``, so the
commit that follows holds everything a render needs. Output: ``commitMessage``.

Helm runs with its own homes in a private temporary directory (never the user's); credentials
of the project (Secrets labelled ``kargo.akuity.io/cred-type: helm``) are written there as the
repository file and the registry login file, never on a command line, and are masked in errors.
OCI registries on a loopback address are spoken to over plain HTTP, as discovery does.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tidegate.model import errors
from tidegate.promotion import discover, edits, steps
from tidegate.render import process, tools
from tidegate.sources import credentials as creds_mod

TIME_LIMIT = 120.0
OUTPUT_LIMIT = 1024 * 1024


def _remote_repositories(chart_yaml: str) -> list[str]:
    doc = yaml.safe_load(chart_yaml) or {}
    found = []
    for dep in doc.get("dependencies") or ():
        repo = str((dep or {}).get("repository") or "") if isinstance(dep, dict) else ""
        if repo.startswith(("https://", "http://", "oci://")) and repo not in found:
            found.append(repo)
    return found


async def _helm_homes(
    home: Path, repos: list[str], lookup: steps.CredsLookup | None
) -> tuple[dict[str, str], list[str], bool]:
    """Helm's environment in ``home``, the secrets to mask, and whether to use plain HTTP."""
    entries: list[dict[str, Any]] = []
    auths: dict[str, dict[str, str]] = {}
    masks: list[str] = []
    plain_http = False
    for index, repo in enumerate(repos):
        creds: creds_mod.RepoCredentials | None = await lookup(repo) if lookup else None
        if repo.startswith("oci://"):
            host = repo.removeprefix("oci://").split("/", 1)[0]
            plain_http = plain_http or discover.image_reference(repo).plain_http
            if creds is not None and creds.username:
                pair = f"{creds.username}:{creds.password}".encode()
                auths[host] = {"auth": base64.b64encode(pair).decode()}
        elif creds is not None and creds.username:
            entries.append(
                {
                    "name": f"dependency-{index}",
                    "url": repo,
                    "username": creds.username,
                    "password": creds.password,
                }
            )
        if creds is not None and creds.password:
            masks.append(creds.password)
    (home / "config").mkdir(parents=True)
    repo_file = home / "config" / "repositories.yaml"
    repo_file.write_text(yaml.safe_dump({"apiVersion": "", "repositories": entries}))
    registry_file = home / "config" / "registry.json"
    registry_file.write_text(json.dumps({"auths": auths}))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_REPOSITORY_CONFIG": str(repo_file),
        "HELM_REGISTRY_CONFIG": str(registry_file),
        "HELM_REPOSITORY_CACHE": str(home / "cache" / "repository"),
    }
    return env, masks, plain_http


async def helm_update_chart(ctx: steps.StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    root = ctx.path(config.get("path"), "helm-update-chart")
    chart_file = root / "Chart.yaml"
    what = f"helm-update-chart: {config.get('path')}/Chart.yaml"
    if not chart_file.is_file():
        raise steps.StepError(f"{what} does not exist")
    charts = list(config.get("charts") or ())
    if not charts:
        raise steps.StepError(f"helm-update-chart: {config.get('path')}: charts is empty")
    try:
        text, changes = edits.update_chart_dependencies(chart_file.read_text(), charts, what)
    except edits.EditError as exc:
        raise steps.StepError(str(exc)) from None
    chart_file.write_text(text)
    try:
        helm = tools.discover().require_helm()
    except errors.RenderError as exc:  # no helm binary on this machine
        raise steps.StepError(f"helm-update-chart: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="tidegate-helm-") as temp:
        env, masks, plain_http = await _helm_homes(
            Path(temp), _remote_repositories(text), ctx.helm_creds
        )
        argv = [*helm, "dependency", "update", str(root)]
        if plain_http:
            argv.append("--plain-http")
        try:
            await process.run(
                argv,
                what=f"helm-update-chart: helm dependency update of {config.get('path')}",
                time_limit=TIME_LIMIT,
                max_stdout=OUTPUT_LIMIT,
                max_stderr=OUTPUT_LIMIT,
                env=env,
                cwd=root,
                replacements={m: "***" for m in masks},
            )
        except errors.RenderError as exc:  # failed or timed out: the message says why
            raise steps.StepError(str(exc)) from None
    shown = "\n".join(f"- {c}" for c in changes) or "- (versions unchanged; dependencies built)"
    return {"commitMessage": f"Updated chart dependencies of {config.get('path')}\n\n{shown}"}
