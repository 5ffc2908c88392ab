"""What ``tidegate proj get|list`` and ``proj windows list`` print, as argocd prints it. Pure.

``get`` is argocd's key/value listing (a 29-column key, one value per line, continuation lines
for lists); ``list`` and ``windows list`` are kubectl-style tables whose rows come from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

NONE = "<none>"
KEY_WIDTH = 29


def _spec(project: Mapping[str, Any]) -> Mapping[str, Any]:
    return project.get("spec") or {}


def destination(dest: Mapping[str, Any]) -> str:
    """``SERVER,NAMESPACE`` (the cluster name when the destination is given by name)."""
    return f"{dest.get('server') or dest.get('name') or ''},{dest.get('namespace') or ''}"


def group_kind(entry: Mapping[str, Any]) -> str:
    return f"{entry.get('group') or ''}/{entry.get('kind') or ''}"


def orphaned(project: Mapping[str, Any]) -> str:
    settings = _spec(project).get("orphanedResources")
    if settings is None:
        return "disabled"
    details = f"warn={str(bool(settings.get('warn'))).lower()}"
    if settings.get("ignore"):
        details += f", ignored {len(settings['ignore'])}"
    return f"enabled ({details})"


def _count(values: Sequence[str], noun: str) -> str:
    if not values:
        return NONE
    return values[0] if len(values) == 1 else f"{len(values)} {noun}"


def list_row(project: Mapping[str, Any]) -> list[str]:
    """NAME DESCRIPTION DESTINATIONS SOURCES CLUSTER-RESOURCE-WHITELIST
    NAMESPACE-RESOURCE-BLACKLIST SIGNATURE-KEYS ORPHANED-RESOURCES."""
    spec = _spec(project)
    blacklist = spec.get("namespaceResourceBlacklist") or []
    keys = spec.get("signatureKeys") or []
    return [
        str((project.get("metadata") or {}).get("name") or ""),
        str(spec.get("description") or ""),
        _count([destination(d) for d in spec.get("destinations") or []], "destinations"),
        _count(list(spec.get("sourceRepos") or []), "repos"),
        _count([group_kind(g) for g in spec.get("clusterResourceWhitelist") or []], "resources"),
        f"{len(blacklist)} resources" if blacklist else NONE,
        f"{len(keys)} key(s)" if keys else NONE,
        orphaned(project),
    ]


LIST_HEADERS = (
    "name",
    "description",
    "destinations",
    "sources",
    "cluster-resource-whitelist",
    "namespace-resource-blacklist",
    "signature-keys",
    "orphaned-resources",
)


def summary(
    project: Mapping[str, Any], *, scoped_repos: Sequence[str], scoped_clusters: Sequence[str]
) -> list[str]:
    """``proj get``: argocd's fields, plus source namespaces and the number of sync windows."""
    spec = _spec(project)
    keys = [str(k.get("keyID") or "") for k in spec.get("signatureKeys") or []]
    windows = spec.get("syncWindows") or []
    fields: list[tuple[str, Sequence[str]]] = [
        ("Name:", [str((project.get("metadata") or {}).get("name") or "")]),
        ("Description:", [str(spec.get("description") or "")]),
        ("Destinations:", [destination(d) for d in spec.get("destinations") or []]),
        ("Repositories:", list(spec.get("sourceRepos") or [])),
        ("Source Namespaces:", list(spec.get("sourceNamespaces") or [])),
        ("Scoped Repositories:", list(scoped_repos)),
        (
            "Allowed Cluster Resources:",
            [group_kind(g) for g in spec.get("clusterResourceWhitelist") or []],
        ),
        (
            "Denied Cluster Resources:",
            [group_kind(g) for g in spec.get("clusterResourceBlacklist") or []],
        ),
        ("Scoped Clusters:", list(scoped_clusters)),
        (
            "Allowed Namespaced Resources:",
            [group_kind(g) for g in spec.get("namespaceResourceWhitelist") or []],
        ),
        (
            "Denied Namespaced Resources:",
            [group_kind(g) for g in spec.get("namespaceResourceBlacklist") or []],
        ),
        ("Signature keys:", [", ".join(keys)] if keys else []),
        ("Orphaned Resources:", [orphaned(project)]),
        ("Sync Windows:", [f"{len(windows)} (tidegate proj windows list)"] if windows else []),
    ]
    lines = []
    for key, values in fields:
        shown = list(values) or [NONE]
        lines.append(f"{key:<{KEY_WIDTH}}{shown[0]}".rstrip())
        lines += [f"{'':<{KEY_WIDTH}}{v}" for v in shown[1:]]
    return lines


WINDOW_HEADERS = (
    "id",
    "status",
    "kind",
    "schedule",
    "duration",
    "applications",
    "namespaces",
    "clusters",
    "manualsync",
    "timezone",
    "useandoperator",
)


def _joined(values: Sequence[str] | None) -> str:
    return ",".join(values) if values else "-"


def _enabled(value: Any) -> str:
    return "Enabled" if value else "Disabled"


def window_rows(project: Mapping[str, Any], now: dt.datetime) -> list[list[str]]:
    """One row per sync window, its index as ID; STATUS is whether it is active at ``now``."""
    from tidegate.model import errors
    from tidegate.sync import windows

    rows = []
    for index, window in enumerate(_spec(project).get("syncWindows") or []):
        try:
            status = "Active" if windows.SyncWindow.from_spec(window).active(now) else "Inactive"
        except errors.SpecError:
            status = "Invalid"
        rows.append(
            [
                str(index),
                status,
                str(window.get("kind") or ""),
                str(window.get("schedule") or ""),
                str(window.get("duration") or ""),
                _joined(window.get("applications")),
                _joined(window.get("namespaces")),
                _joined(window.get("clusters")),
                _enabled(window.get("manualSync")),
                str(window.get("timeZone") or "UTC"),
                _enabled(window.get("andOperator")),
            ]
        )
    return rows
