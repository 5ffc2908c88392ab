"""How ``tidegate app get|list|history`` and operation results look (argocd-like text).

Everything here formats raw Application dicts; printing goes to stdout through
:mod:`tidegate.cli.output` (kubectl-style tables).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.cli import app_state, output

Obj = Mapping[str, Any]
RESOURCE_HEADERS = ("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE")
RESULT_HEADERS = ("GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HOOKPHASE", "PHASE", "MESSAGE")
LIST_HEADERS = (
    "NAME",
    "CLUSTER",
    "NAMESPACE",
    "PROJECT",
    "STATUS",
    "HEALTH",
    "SYNCPOLICY",
    "CONDITIONS",
    "REPO",
    "PATH",
    "TARGET",
)


def without_managed_fields(raw: Obj) -> dict[str, Any]:
    """As kubectl shows objects: without ``metadata.managedFields``."""
    meta = {k: v for k, v in (raw.get("metadata") or {}).items() if k != "managedFields"}
    return {**raw, "metadata": meta}


def qualified_name(app: Obj) -> str:
    meta = app.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def sources(app: Obj) -> list[Obj]:
    spec = app.get("spec") or {}
    if spec.get("sources"):
        return list(spec["sources"])
    return [spec["source"]] if spec.get("source") else []


def short_revision(revision: Any) -> str:
    text = str(revision or "")
    return text[:7] if len(text) == 40 else text


def sync_policy(app: Obj, *, short: bool = False) -> str:
    automated = ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated")
    if not isinstance(automated, Mapping) or automated.get("enabled") is False:
        return "Manual"
    if short:
        return "Auto-Prune" if automated.get("prune") else "Auto"
    extras = [
        name for name, key in (("Prune", "prune"), ("Self Heal", "selfHeal")) if automated.get(key)
    ]
    return f"Automated ({', '.join(extras)})" if extras else "Automated"


def destination(app: Obj) -> tuple[str, str]:
    dest = (app.get("spec") or {}).get("destination") or {}
    return str(dest.get("server") or dest.get("name") or ""), str(dest.get("namespace") or "")


def sync_status(app: Obj) -> str:
    sync = app_state.status(app).get("sync") or {}
    code = str(sync.get("status") or "Unknown")
    revisions = sync.get("revisions") or ([sync["revision"]] if sync.get("revision") else [])
    if not revisions:
        return code
    targets = [str(s.get("targetRevision") or "HEAD") for s in sources(app)]
    target = ", ".join(targets) or "HEAD"
    shown = ", ".join(short_revision(r) for r in revisions)
    verb = "to" if code == "Synced" else "from"
    return f"{code} {verb} {target} ({shown})"


def health_status(app: Obj) -> str:
    health = app_state.status(app).get("health") or {}
    code = str(health.get("status") or "Unknown")
    return f"{code} ({health['message']})" if health.get("message") else code


def summary(app: Obj, *, sync_window: str | None = None) -> list[tuple[str, str]]:
    server, namespace = destination(app)
    lines = [
        ("Name", qualified_name(app)),
        ("Project", str((app.get("spec") or {}).get("project") or "default")),
        ("Server", server),
        ("Namespace", namespace),
    ]
    for i, src in enumerate(sources(app)):
        prefix = f"Source {i + 1} " if len(sources(app)) > 1 else ""
        lines.append((f"{prefix}Repo", str(src.get("repoURL") or "")))
        lines.append((f"{prefix}Target", str(src.get("targetRevision") or "")))
        where = src.get("path") or (f"chart {src['chart']}" if src.get("chart") else "")
        lines.append((f"{prefix}Path", str(where or "")))
    if sync_window is not None:
        lines.append(("SyncWindow", sync_window))
    lines += [
        ("Sync Policy", sync_policy(app)),
        ("Sync Status", sync_status(app)),
        ("Health Status", health_status(app)),
    ]
    return lines


def _fields(lines: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in lines) + 2
    for key, value in lines:
        sys.stdout.write(f"{(key + ':').ljust(width)}{value}".rstrip() + "\n")


def _one_line(message: Any) -> str:
    return " ".join(str(message or "").split())


def _key(res: Obj) -> tuple[str, ...]:
    return tuple(str(res.get(k) or "") for k in ("group", "kind", "namespace", "name"))


def operation_lines(state: Obj) -> list[tuple[str, str]]:
    op = state.get("operation") or {}
    result = state.get("syncResult") or {}
    revision = result.get("revision") or (op.get("sync") or {}).get("revision") or ""
    lines = [
        ("Operation", "Sync" if "sync" in op else "Unknown"),
        ("Sync Revision", str(revision)),
        ("Phase", str(state.get("phase") or "")),
        ("Start", str(state.get("startedAt") or "")),
        ("Finished", str(state.get("finishedAt") or "")),
        ("Message", str(state.get("message") or "")),
    ]
    user = (op.get("initiatedBy") or {}).get("username")
    if user:
        lines.insert(1, ("Initiated By", str(user)))
    return lines


def print_app(app: Obj, *, show_operation: bool, wide: bool, sync_window: str | None) -> None:
    _fields(summary(app, sync_window=sync_window))
    conditions = app_state.status(app).get("conditions") or []
    if conditions:
        sys.stdout.write("\n")
        output.table(
            ("CONDITION", "MESSAGE", "LAST TRANSITION"),
            [
                (c.get("type"), _one_line(c.get("message")), c.get("lastTransitionTime"))
                for c in conditions
            ],
        )
    state = app_state.operation_state(app)
    if show_operation and state is not None:
        sys.stdout.write("\n")
        _fields(operation_lines(state))
    rows = app_state.resource_rows(app)
    if rows:
        sys.stdout.write("\n")
        headers = RESOURCE_HEADERS
        if not wide:
            output.table(headers, rows)
        else:
            versions = {
                _key(r): str(r.get("version") or "")
                for r in app_state.status(app).get("resources") or []
            }
            output.table(
                ("VERSION", *headers), [(versions.get(tuple(row[:4]), ""), *row) for row in rows]
            )


def list_row(app: Obj, *, wide: bool) -> tuple[str, ...]:
    server, namespace = destination(app)
    srcs = sources(app)
    first = srcs[0] if srcs else {}
    conditions = ",".join(str(c.get("type")) for c in app_state.status(app).get("conditions") or [])
    row: tuple[str, ...] = (
        qualified_name(app),
        server,
        namespace,
        str((app.get("spec") or {}).get("project") or "default"),
        str((app_state.status(app).get("sync") or {}).get("status") or "Unknown"),
        str((app_state.status(app).get("health") or {}).get("status") or "Unknown"),
        sync_policy(app, short=True),
        conditions or "<none>",
        str(first.get("repoURL") or ""),
        str(first.get("path") or first.get("chart") or ""),
        str(first.get("targetRevision") or ""),
    )
    if wide:
        sync = app_state.status(app).get("sync") or {}
        state = app_state.operation_state(app) or {}
        row += (short_revision(sync.get("revision")), str(state.get("phase") or ""))
    return row


def print_list(apps: Sequence[Obj], *, wide: bool) -> None:
    headers = LIST_HEADERS + (("REVISION", "OPERATION") if wide else ())
    output.table(headers, [list_row(a, wide=wide) for a in apps])


def history_rows(app: Obj, *, wide: bool) -> list[tuple[str, ...]]:
    rows = []
    for entry in app_state.history(app):
        revisions = entry.get("revisions") or [entry.get("revision") or ""]
        srcs = entry.get("sources") or ([entry["source"]] if entry.get("source") else [])
        target = ", ".join(str(s.get("targetRevision") or "HEAD") for s in srcs)
        revision = ", ".join(str(r) for r in revisions)
        row: tuple[str, ...] = (
            str(entry.get("id", "")),
            str(entry.get("deployedAt") or ""),
            f"{revision} ({target})" if target else revision,
        )
        if wide:
            where = ", ".join(_where(s) for s in srcs)
            user = str((entry.get("initiatedBy") or {}).get("username") or "")
            row += (where, user)
        rows.append(row)
    return rows


def _where(src: Obj) -> str:
    return f"{src.get('repoURL', '')} {src.get('path') or src.get('chart') or ''}".strip()


def print_history(app: Obj, *, wide: bool) -> None:
    headers = ("ID", "DATE", "REVISION") + (("SOURCE", "INITIATED BY") if wide else ())
    output.table(headers, history_rows(app, wide=wide))


def print_result(app: Obj, state: Obj) -> None:
    """The end of ``sync``/``rollback``: the summary, the operation and its resources."""
    _fields(summary(app) + operation_lines(state))
    rows = app_state.result_rows(state)
    if rows:
        sys.stdout.write("\n")
        output.table(RESULT_HEADERS, rows)


def param_rows(source: Obj) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """``get --show-params``: the source's parameter overrides, as argocd lists them — Helm
    parameters (and file parameters), else Kustomize images, else plugin environment."""
    helm = source.get("helm") or {}
    rows: list[tuple[str, ...]]
    if helm:
        rows = [(str(p.get("name")), str(p.get("value", ""))) for p in helm.get("parameters") or []]
        rows += [(str(p.get("name")), f"@{p.get('path', '')}")
                 for p in helm.get("fileParameters") or []]  # fmt: skip
        return ("NAME", "VALUE"), rows
    kustomize = source.get("kustomize") or {}
    if kustomize:
        return ("IMAGE",), [(str(i),) for i in kustomize.get("images") or []]
    plugin = source.get("plugin") or {}
    rows = [(str(e.get("name")), str(e.get("value", ""))) for e in plugin.get("env") or []]
    return ("NAME", "VALUE"), rows
