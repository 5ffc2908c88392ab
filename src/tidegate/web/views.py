"""What the pages show, shaped from the API's own JSON (an Application as the API returns it).
Pure: no I/O; the templates render these dicts and never dig into an Application themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]
SYNC_STATUSES = ("Synced", "OutOfSync", "Unknown")
HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
_KIND_SHORT = {
    "Deployment": "deploy",
    "StatefulSet": "sts",
    "DaemonSet": "ds",
    "ReplicaSet": "rs",
    "Pod": "pod",
    "Service": "svc",
    "ConfigMap": "cm",
    "Secret": "secret",
    "Ingress": "ing",
    "Namespace": "ns",
    "ServiceAccount": "sa",
    "Job": "job",
    "CronJob": "cronjob",
    "Application": "app",
    "PersistentVolumeClaim": "pvc",
    "Role": "role",
    "RoleBinding": "rb",
    "ClusterRole": "crole",
    "ClusterRoleBinding": "crb",
    "CustomResourceDefinition": "crd",
    "HorizontalPodAutoscaler": "hpa",
    "EndpointSlice": "eps",
    "Endpoints": "ep",
    "ControllerRevision": "rev",
    "AnalysisRun": "run",
    "Rollout": "ro",
}


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def kind_short(kind: str) -> str:
    return _KIND_SHORT.get(kind, kind.lower()[:7] or "?")


def destination(spec: Mapping[str, Any]) -> tuple[str, str]:
    dest = _m(spec.get("destination"))
    return str(dest.get("name") or dest.get("server") or ""), str(dest.get("namespace") or "")


def source(spec: Mapping[str, Any]) -> Obj:
    src = _m(spec.get("source")) or _m((spec.get("sources") or [{}])[0])
    return {
        "repo": str(src.get("repoURL") or ""),
        "path": str(src.get("path") or src.get("chart") or ""),
        "revision": str(src.get("targetRevision") or "HEAD"),
    }


def summary(app: Mapping[str, Any]) -> Obj:
    """One application as a tile or a list row shows it."""
    meta, spec, status = _m(app.get("metadata")), _m(app.get("spec")), _m(app.get("status"))
    cluster, namespace = destination(spec)
    sync = _m(status.get("sync"))
    op = _m(status.get("operationState"))
    phase = str(op.get("phase") or "")
    if app.get("operation") and phase not in ("Running", "Terminating"):
        phase = "Requested"
    return {
        "name": str(meta.get("name") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "project": str(spec.get("project") or ""),
        "labels": {str(k): str(v) for k, v in _m(meta.get("labels")).items()},
        "cluster": cluster,
        "dest_namespace": namespace,
        "source": source(spec),
        "sync": str(sync.get("status") or "Unknown"),
        "revision": str(sync.get("revision") or "")[:7],
        "health": str(_m(status.get("health")).get("status") or "Unknown"),
        "operation": phase,
        "auto_sync": bool(_m(spec.get("syncPolicy")).get("automated") is not None),
    }


def filter_options(apps: Iterable[Mapping[str, Any]]) -> Obj:
    """The values the filter panel offers: every project, cluster, namespace and label seen."""
    projects, clusters, namespaces, labels = set(), set(), set(), set()
    for app in apps:
        spec = _m(app.get("spec"))
        projects.add(str(spec.get("project") or ""))
        cluster, namespace = destination(spec)
        clusters.add(cluster)
        namespaces.add(namespace)
        for key, value in _m(_m(app.get("metadata")).get("labels")).items():
            labels.add(f"{key}={value}")
    return {
        "projects": sorted(p for p in projects if p),
        "clusters": sorted(c for c in clusters if c),
        "namespaces": sorted(n for n in namespaces if n),
        "labels": sorted(labels),
        "sync": SYNC_STATUSES,
        "health": HEALTH_STATUSES,
    }


def _key(res: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(res.get("group") or ""),
        str(res.get("kind") or ""),
        str(res.get("namespace") or ""),
        str(res.get("name") or ""),
    )


def resources(app: Mapping[str, Any]) -> list[Obj]:
    """The managed resources with their sync and health (``status.resources``) and the result
    of the last operation for each (``operationState.syncResult.resources``), sorted."""
    status = _m(app.get("status"))
    results: dict[tuple[str, str, str, str], Obj] = {}
    sync_result = _m(_m(status.get("operationState")).get("syncResult"))
    for res in sync_result.get("resources") or []:
        if isinstance(res, Mapping):
            results[_key(res)] = {
                "status": str(res.get("status") or ""),
                "message": str(res.get("message") or ""),
                "phase": str(res.get("hookPhase") or ""),
            }
    rows = []
    for res in status.get("resources") or []:
        if not isinstance(res, Mapping):
            continue
        row = _node(res)
        row.update(
            sync=str(res.get("status") or "Unknown"),
            requires_pruning=bool(res.get("requiresPruning")),
            result=results.get(_key(res)),
        )
        rows.append(row)
    rows.sort(key=lambda r: (r["kind"] != "Namespace", r["kind"], r["namespace"], r["name"]))
    return rows


def _node(res: Mapping[str, Any]) -> Obj:
    """A resource of the tree or the list, from the API's node (or ``status.resources`` entry)."""
    group, kind, namespace, name = _key(res)
    health = _m(res.get("health"))
    info = [_m(i) for i in res.get("info") or [] if _m(i)]
    return {
        "id": "/".join((group, kind, namespace, name)),
        "group": group,
        "version": str(res.get("version") or ""),
        "kind": kind,
        "kind_short": kind_short(kind),
        "namespace": namespace,
        "name": name,
        "sync": "",
        "health": str(health.get("status") or ""),
        "health_message": str(health.get("message") or ""),
        "requires_pruning": False,
        "result": None,
        "child": False,
        "info": " · ".join(f"{i.get('name')}: {i.get('value')}" for i in info),
        "info_short": " · ".join(str(i.get("value")) for i in info),
        "children": [],
    }


def _child(node: Mapping[str, Any]) -> Obj:
    return {**_node(node), "child": True}


def tree(rows: list[Obj], nodes: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """The managed ``rows`` (from :func:`resources`) with the live children of the API's tree
    ``nodes`` nested under their parents (``parentRefs``; a child with several parents under
    the first one shown), each level sorted by kind and name."""
    by_id: dict[str, Obj] = {}
    for row in rows:
        by_id[row["id"]] = row
    pending = [n for n in nodes if isinstance(n, Mapping) and n.get("parentRefs")]
    while pending:  # parents come before children in the API's tree, but do not rely on it
        left = []
        for node in pending:
            child = _child(node)
            if child["id"] in by_id:
                continue
            parent = next(
                (
                    by_id[pid]
                    for ref in node.get("parentRefs") or []
                    if (pid := "/".join(_key(_m(ref)))) in by_id
                ),
                None,
            )
            if parent is None:
                left.append(node)
                continue
            parent["children"].append(child)
            by_id[child["id"]] = child
        if len(left) == len(pending):
            break  # parents not in the tree (cut by the server's bound): not shown
        pending = left
    for row in by_id.values():
        row["children"].sort(key=lambda r: (r["kind"], r["name"]))
    return rows


def children_signature(nodes: Iterable[Mapping[str, Any]]) -> str:
    """A short fingerprint of the tree's live children (each ``uid@resourceVersion``, sorted,
    one a line; 32-bit FNV-1a of its UTF-8, as 8 hex digits). The application page compares it
    with the same fingerprint of each message of the tree's stream (``childrenSignature`` in
    tidegate.js computes it the same way) and renders its body again only when they differ."""
    lines = sorted(
        f"{n.get('uid') or ''}@{n.get('resourceVersion') or ''}"
        for n in nodes
        if isinstance(n, Mapping) and n.get("parentRefs")
    )
    value = 0x811C9DC5
    for byte in "\n".join(lines).encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:08x}"


def flatten(rows: Iterable[Obj]) -> list[Obj]:
    """Every row of a nested tree, parents first."""
    out: list[Obj] = []
    for row in rows:
        out.append(row)
        out.extend(flatten(row.get("children") or []))
    return out


def source_type(app: Mapping[str, Any]) -> str:
    """Helm, Kustomize or Directory: what the controller detected (``status.sourceType``), else
    what the spec says (a chart or a ``helm``/``kustomize`` block), else Directory."""
    spec = _m(app.get("spec"))
    detected = str(_m(app.get("status")).get("sourceType") or "")
    if detected in ("Helm", "Kustomize", "Directory"):
        return detected
    src = _m(spec.get("source"))
    if src.get("chart") or src.get("helm"):
        return "Helm"
    if src.get("kustomize"):
        return "Kustomize"
    return "Directory"


def parameters(app: Mapping[str, Any]) -> Obj:
    """The app's editable source parameters and sync policy, as the details view shows them and
    the edit dialog starts from (lists as one item a line, as the dialog's text areas take)."""
    spec = _m(app.get("spec"))
    src = _m(spec.get("source"))
    helm, kustomize, directory = (
        _m(src.get("helm")),
        _m(src.get("kustomize")),
        _m(src.get("directory")),
    )
    policy = _m(spec.get("syncPolicy"))
    automated = policy.get("automated")
    auto = _m(automated)
    return {
        "type": source_type(app),
        "multi": not src and bool(spec.get("sources")),
        "helm": {
            "value_files": "\n".join(str(v) for v in helm.get("valueFiles") or []),
            "values_text": str(helm.get("values") or ""),
            "parameters": "\n".join(
                f"{_m(p).get('name')}={_m(p).get('value', '')}"
                for p in helm.get("parameters") or []
            ),
            "release_name": str(helm.get("releaseName") or ""),
        },
        "kustomize": {
            "name_prefix": str(kustomize.get("namePrefix") or ""),
            "name_suffix": str(kustomize.get("nameSuffix") or ""),
            "images": "\n".join(str(i) for i in kustomize.get("images") or []),
        },
        "directory": {"recurse": bool(directory.get("recurse"))},
        "sync": {
            "automated": automated is not None,
            "prune": bool(auto.get("prune")),
            "self_heal": bool(auto.get("selfHeal")),
            "options": [str(o) for o in policy.get("syncOptions") or []],
        },
    }


def last_operation(app: Mapping[str, Any]) -> Obj | None:
    op = _m(_m(app.get("status")).get("operationState"))
    if not op:
        return None
    sync = _m(_m(op.get("operation")).get("sync"))
    return {
        "phase": str(op.get("phase") or ""),
        "message": str(op.get("message") or ""),
        "started": str(op.get("startedAt") or ""),
        "finished": str(op.get("finishedAt") or ""),
        "revision": str(_m(op.get("syncResult")).get("revision") or sync.get("revision") or ""),
        "initiated_by": str(
            _m(_m(op.get("operation")).get("initiatedBy")).get("username")
            or (
                "automated"
                if _m(_m(op.get("operation")).get("initiatedBy")).get("automated")
                else ""
            )
        ),
    }


def history(app: Mapping[str, Any]) -> list[Obj]:
    """Deployment history, newest first."""
    out = []
    for entry in _m(app.get("status")).get("history") or []:
        if not isinstance(entry, Mapping):
            continue
        src = source({"source": entry.get("source")}) if entry.get("source") else None
        out.append(
            {
                "id": entry.get("id"),
                "revision": str(entry.get("revision") or ""),
                "deployed_at": str(entry.get("deployedAt") or ""),
                "started_at": str(entry.get("deployStartedAt") or ""),
                "initiated_by": str(_m(entry.get("initiatedBy")).get("username") or ""),
                "source": src,
            }
        )
    out.sort(key=lambda e: int(str(e["id"])) if str(e["id"]).isdigit() else -1, reverse=True)
    return out


def conditions(app: Mapping[str, Any]) -> list[Obj]:
    return [
        {"type": str(c.get("type") or ""), "message": str(c.get("message") or "")}
        for c in _m(app.get("status")).get("conditions") or []
        if isinstance(c, Mapping)
    ]


def annotation_map(app: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _m(_m(app.get("metadata")).get("annotations")).items()}


def when(timestamp: str) -> str:
    """A Kubernetes timestamp (``2026-01-02T03:04:05Z``) as people read it."""
    if len(timestamp) >= 19 and timestamp[10] == "T":
        return f"{timestamp[:10]} {timestamp[11:19]}" + (" UTC" if timestamp.endswith("Z") else "")
    return timestamp


def appset(item: Mapping[str, Any], apps: Iterable[Mapping[str, Any]]) -> Obj:
    """An ApplicationSet with the apps it generated (owner reference) and RollingSync steps."""
    meta, spec, status = _m(item.get("metadata")), _m(item.get("spec")), _m(item.get("status"))
    name = str(meta.get("name") or "")
    generated = [
        summary(a)
        for a in apps
        if any(
            _m(ref).get("kind") == "ApplicationSet" and _m(ref).get("name") == name
            for ref in _m(a.get("metadata")).get("ownerReferences") or []
        )
    ]
    steps: dict[str, list[Obj]] = {}
    for entry in status.get("applicationStatus") or []:
        e = _m(entry)
        steps.setdefault(str(e.get("step") or "-"), []).append(
            {
                "application": str(e.get("application") or ""),
                "status": str(e.get("status") or ""),
                "message": str(e.get("message") or ""),
            }
        )
    strategy = _m(spec.get("strategy"))
    return {
        "name": name,
        "generators": [next(iter(_m(g)), "?") for g in spec.get("generators") or []],
        "strategy": str(strategy.get("type") or "AllAtOnce"),
        "conditions": [
            {
                "type": str(_m(c).get("type") or ""),
                "message": str(_m(c).get("message") or ""),
                "error": "Error" in str(_m(c).get("type") or ""),
            }
            for c in status.get("conditions") or []
            if str(_m(c).get("status") or "") == "True"
        ],
        "apps": generated,
        "steps": sorted(steps.items(), key=lambda kv: (not kv[0].isdigit(), kv[0].zfill(6))),
    }


def _app_counts(apps: Iterable[Mapping[str, Any]]) -> Obj:
    rows = [summary(a) for a in apps]
    return {
        "total": len(rows),
        "out_of_sync": sum(r["sync"] == "OutOfSync" for r in rows),
        "degraded": sum(r["health"] == "Degraded" for r in rows),
    }


def cluster(item: Mapping[str, Any], apps: Iterable[Mapping[str, Any]]) -> Obj:
    """A cluster as the API lists it, with the apps that deploy to it (by server or name)."""
    server, name = str(item.get("server") or ""), str(item.get("name") or "")
    mine = [a for a in apps if destination(_m(a.get("spec")))[0] in {server, name} - {""}]
    state = _m(item.get("connectionState"))
    return {
        "name": name,
        "server": server,
        "project": str(item.get("project") or ""),
        "labels": {str(k): str(v) for k, v in _m(item.get("labels")).items()},
        "namespaces": [str(n) for n in item.get("namespaces") or []],
        "state": str(state.get("status") or ""),
        "message": str(state.get("message") or ""),
        "apps": _app_counts(mine),
    }


def project(item: Mapping[str, Any], apps: Iterable[Mapping[str, Any]]) -> Obj:
    meta, spec = _m(item.get("metadata")), _m(item.get("spec"))
    name = str(meta.get("name") or "")
    mine = [a for a in apps if _m(a.get("spec")).get("project") == name]
    return {
        "name": name,
        "description": str(spec.get("description") or ""),
        "sources": [str(s) for s in spec.get("sourceRepos") or []],
        "destinations": [
            f"{_m(d).get('name') or _m(d).get('server') or '*'} / {_m(d).get('namespace') or '*'}"
            for d in spec.get("destinations") or []
        ],
        "windows": len(spec.get("syncWindows") or []),
        "apps": _app_counts(mine),
    }
