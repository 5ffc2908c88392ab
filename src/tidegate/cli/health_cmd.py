"""``tidegate health -f FILE``: the health of each object in a YAML file, as Tidegate judges it."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer


class Output(enum.StrEnum):
    table = "table"
    json = "json"


def health(
    filename: Annotated[
        Path,
        typer.Option(
            "--filename",
            "-f",
            help="YAML file of objects (multi-document, or a kind: List); '-' reads stdin.",
            allow_dash=True,
        ),
    ],
    output: Annotated[
        Output, typer.Option("--output", "-o", help="Output format: table or json.")
    ] = Output.table,
    argocd_cm_path: Annotated[
        Path | None,
        typer.Option(
            "--argocd-cm-path",
            help="An argocd-cm ConfigMap (YAML) whose resource customizations (Lua health "
            "scripts, declarative rules) override the built-in checks.",
        ),
    ] = None,
) -> None:
    """Print the health of each object in FILE (built-in checks, plus argocd-cm's customizations
    with --argocd-cm-path, as 'argocd admin settings resource-overrides health' does).

    Objects of a kind without a health check are listed with status '-' (null in json).
    Exit codes: 0 ok, 1 unreadable or invalid file (or an argocd-cm entry that cannot be
    used, named on stderr), 2 usage error.
    """
    import json
    import sys

    from tidegate.cli import output as output_helpers
    from tidegate.health import registry

    objects = _load(filename)
    checks = registry.HealthChecks()
    if argocd_cm_path is not None:
        checks = _checks_from_configmap(argocd_cm_path)
    rows: list[dict[str, Any]] = []
    for obj in objects:
        result = checks.assess(obj)
        meta = obj.get("metadata")
        name = meta.get("name", "") if isinstance(meta, dict) else ""
        rows.append(
            {
                "kind": str(obj.get("kind", "")),
                "name": str(name or ""),
                "status": result.status.value if result is not None else None,
                "message": result.message if result is not None else "",
            }
        )
    if output is Output.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    output_helpers.table(
        ("KIND", "NAME", "STATUS", "MESSAGE"),
        [(r["kind"], r["name"], r["status"] or "-", r["message"]) for r in rows],
    )


def _checks_from_configmap(path: Path) -> Any:
    from tidegate.cli.output import fail as _fail
    from tidegate.health import registry

    [configmap] = _load(path)[:1] or [{}]
    data = configmap.get("data")
    if configmap.get("kind") != "ConfigMap" or not isinstance(data, dict):
        raise _fail(f"{path}: expected a ConfigMap with data")
    checks = registry.HealthChecks.from_argocd_cm({str(k): str(v) for k, v in data.items()})
    if checks.problems:
        raise _fail("; ".join(checks.problems))
    return checks


def _load(filename: Path) -> list[dict[str, Any]]:
    import sys

    from tidegate.cli.output import fail as _fail

    source = "stdin" if str(filename) == "-" else str(filename)
    try:
        text = sys.stdin.read() if source == "stdin" else filename.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {source}: {exc}") from None
    from tidegate.model import errors
    from tidegate.render import manifests, request

    try:
        # The renderer's loader: C-accelerated, and it refuses alias bombs before expanding them.
        documents = manifests.load_yaml_documents(
            text, where=source, max_alias_expansion=request.RenderLimits().max_alias_expansion
        )
    except errors.ManifestError as exc:
        raise _fail(f"{source} is not valid YAML: {exc}") from None
    objects: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
            raise _fail(f"{source}: document {index + 1} is not a Kubernetes object (no kind)")
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            items = doc["items"]
            if not all(isinstance(item, dict) for item in items):
                raise _fail(f"{source}: document {index + 1}: a List item is not an object")
            objects.extend(items)
        else:
            objects.append(doc)
    return objects
