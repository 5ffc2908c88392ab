"""What ``tidegate rollout get`` shows (pure): a summary and the ReplicaSet/pod tree, modelled on
``kubectl argo rollouts get rollout``, as data (``-o json``) and as text."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.rollouts import names, podhash, spec

ICONS = {
    "Healthy": "✔",
    "Progressing": "◌",
    "Paused": "॥",
    "Degraded": "✖",
    "ScaledDown": "•",
    "Running": "✔",
    "Pending": "◌",
    "Succeeded": "✔",
    "Failed": "✖",
    "Terminating": "◌",
}


def age(created: Any, now: datetime.datetime) -> str:
    try:
        then = datetime.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _images(rs: Mapping[str, Any]) -> list[str]:
    pod = ((rs.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [str(c.get("image")) for c in pod.get("containers") or ()]


def _rs_status(rs: Mapping[str, Any]) -> str:
    want = podhash.spec_replicas(rs)
    if want == 0 and podhash.pods(rs) == 0:
        return "ScaledDown"
    if podhash.available(rs) >= want and podhash.pods(rs) == want:
        return "Healthy"
    return "Progressing"


def _rs_info(rollout: Mapping[str, Any], rs: Mapping[str, Any]) -> list[str]:
    status = rollout.get("status") or {}
    pod_hash = podhash.hash_of(rs)
    info = []
    if pod_hash == status.get("stableRS"):
        info.append("stable")
    kind, _ = spec.strategy(rollout)
    if kind == "canary" and pod_hash == status.get("currentPodHash") != status.get("stableRS"):
        info.append("canary")
    blue = status.get("blueGreen") or {}
    if kind == "blueGreen" and pod_hash == blue.get("activeSelector"):
        info.append("active")
    if kind == "blueGreen" and pod_hash == blue.get("previewSelector") != blue.get(
        "activeSelector"
    ):
        info.append("preview")
    deadline = ((rs.get("metadata") or {}).get("annotations") or {}).get(names.SCALE_DOWN_DEADLINE)
    if deadline and podhash.spec_replicas(rs):
        info.append(f"delay:{deadline}")
    return info


def _pod_status(pod: Mapping[str, Any]) -> str:
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return "Terminating"
    return str((pod.get("status") or {}).get("phase") or "Pending")


def _pod_ready(pod: Mapping[str, Any]) -> str:
    statuses = (pod.get("status") or {}).get("containerStatuses") or ()
    containers = ((pod.get("spec") or {}).get("containers")) or ()
    ready = sum(1 for s in statuses if s.get("ready"))
    return f"ready:{ready}/{len(containers)}"


def summary(
    rollout: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    meta = rollout.get("metadata") or {}
    status = rollout.get("status") or {}
    kind, settings = spec.strategy(rollout)
    out: dict[str, Any] = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "status": status.get("phase") or "Progressing",
        "message": status.get("message") or "",
        "strategy": "Canary" if kind == "canary" else "BlueGreen",
    }
    if kind == "canary":
        steps = spec.steps(settings)
        index = int(status.get("currentStepIndex") or 0)
        if steps:
            out["step"] = f"{min(index, len(steps))}/{len(steps)}"
        out["setWeight"] = spec.current_weight(steps, index) if steps else 100
        weights = (status.get("canary") or {}).get("weights")
        if weights:
            out["actualWeight"] = (weights.get("canary") or {}).get("weight", 0)
        else:
            canary = sum(
                podhash.available(rs)
                for rs in replica_sets
                if podhash.hash_of(rs) == status.get("currentPodHash")
                and status.get("currentPodHash") != status.get("stableRS")
            )
            total = sum(podhash.available(rs) for rs in replica_sets)
            out["actualWeight"] = round(canary * 100 / total) if total else 0
    images: list[dict[str, Any]] = []
    sets = []
    by_hash: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        by_hash.setdefault(str(labels.get(names.POD_HASH_LABEL) or ""), []).append(pod)
    for rs in sorted(replica_sets, key=podhash.revision, reverse=True):
        info = _rs_info(rollout, rs)
        if podhash.spec_replicas(rs) or podhash.pods(rs):
            for image in _images(rs):
                images.append({"image": image, "info": [i for i in info if ":" not in i]})
        sets.append(
            {
                "name": podhash.name_of(rs),
                "revision": podhash.revision(rs),
                "status": _rs_status(rs),
                "info": info,
                "replicas": podhash.spec_replicas(rs),
                "available": podhash.available(rs),
                "created": (rs.get("metadata") or {}).get("creationTimestamp"),
                "pods": [
                    {
                        "name": podhash.name_of(p),
                        "status": _pod_status(p),
                        "info": _pod_ready(p),
                        "created": (p.get("metadata") or {}).get("creationTimestamp"),
                    }
                    for p in sorted(by_hash.get(podhash.hash_of(rs), []), key=podhash.name_of)
                ],
            }
        )
    out["images"] = images
    out["replicas"] = {
        "desired": spec.replicas(rollout),
        "current": int(status.get("replicas") or 0),
        "updated": int(status.get("updatedReplicas") or 0),
        "ready": int(status.get("readyReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
    }
    out["replicaSets"] = sets
    out["created"] = meta.get("creationTimestamp")
    return out


def _label(text: str, value: Any) -> str:
    return f"{text + ':' if text else '':<16} {value}"


def render(info: Mapping[str, Any], now: datetime.datetime) -> str:
    icon = ICONS.get(str(info["status"]), "")
    lines = [
        _label("Name", info["name"]),
        _label("Namespace", info["namespace"]),
        _label("Status", f"{icon} {info['status']}"),
    ]
    if info["message"]:
        lines.append(_label("Message", info["message"]))
    lines.append(_label("Strategy", info["strategy"]))
    if "step" in info:
        lines.append(_label("  Step", info["step"]))
    if "setWeight" in info:
        lines.append(_label("  SetWeight", info["setWeight"]))
        lines.append(_label("  ActualWeight", info.get("actualWeight", 0)))
    for i, image in enumerate(info["images"]):
        tags = f" ({', '.join(image['info'])})" if image["info"] else ""
        lines.append(_label("Images" if i == 0 else "", f"{image['image']}{tags}"))
    lines.append("Replicas:")
    for key in ("desired", "current", "updated", "ready", "available"):
        lines.append(_label(f"  {key.capitalize()}", info["replicas"][key]))
    lines.append("")
    rows = [("NAME", "KIND", "STATUS", "AGE", "INFO")]
    rows.append(
        (f"⟳ {info['name']}", "Rollout", f"{icon} {info['status']}", age(info["created"], now), "")
    )
    sets = info["replicaSets"]
    for i, rs in enumerate(sets):
        last = i == len(sets) - 1
        branch, stem = ("└──", "   ") if last else ("├──", "│  ")
        rows.append((f"{branch}# revision:{rs['revision']}", "", "", "", ""))
        rows.append(
            (
                f"{stem}└──⧉ {rs['name']}",
                "ReplicaSet",
                f"{ICONS.get(rs['status'], '')} {rs['status']}",
                age(rs["created"], now),
                ",".join(rs["info"]),
            )
        )
        for j, pod in enumerate(rs["pods"]):
            twig = "└──" if j == len(rs["pods"]) - 1 else "├──"
            rows.append(
                (
                    f"{stem}   {twig}□ {pod['name']}",
                    "Pod",
                    f"{ICONS.get(pod['status'], '')} {pod['status']}",
                    age(pod["created"], now),
                    pod["info"],
                )
            )
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines) + "\n"


def list_row(rollout: Mapping[str, Any]) -> list[str]:
    """NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE."""
    status = rollout.get("status") or {}
    kind, settings = spec.strategy(rollout)
    steps = spec.steps(settings) if kind == "canary" else []
    index = int(status.get("currentStepIndex") or 0)
    return [
        str((rollout.get("metadata") or {}).get("name")),
        "Canary" if kind == "canary" else "BlueGreen",
        str(status.get("phase") or "Progressing"),
        f"{min(index, len(steps))}/{len(steps)}" if steps else "-",
        str(spec.current_weight(steps, index)) if kind == "canary" else "-",
        f"{int(status.get('readyReplicas') or 0)}/{spec.replicas(rollout)}",
        str(spec.replicas(rollout)),
        str(int(status.get("updatedReplicas") or 0)),
        str(int(status.get("availableReplicas") or 0)),
    ]
