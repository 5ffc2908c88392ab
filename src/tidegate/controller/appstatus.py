"""Turn comparisons and errors into ``Application.status`` (pure).

The controller merges these dicts into the Application with a JSON merge patch. Comparison
results own ``sync``, ``health``, ``resources``, ``summary``, ``sourceType(s)``,
``reconciledAt`` and ``conditions``; operations own ``operationState`` and ``history``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.controller import compare as cmp
from tidegate.model import application as model_app
from tidegate.model.enums import SyncStatusCode
from tidegate.model.keys import ResourceKey
from tidegate.sync import validate as sync_validate

COMPARISON_ERROR = "ComparisonError"
INVALID_SPEC_ERROR = "InvalidSpecError"
SYNC_ERROR = "SyncError"
# A repository did not answer: the app is compared with its last fetched commit (a warning:
# nothing is wrong with the app; docs/controller.md "Faults").
REPO_UNREACHABLE_WARNING = "RepoUnreachableWarning"
UNKNOWN_ERROR = "UnknownError"
# An argocd-cm custom health check failed to run (a Lua error, a broken limit): a warning, it
# blocks nothing; the resources stay Unknown (docs/health.md).
CUSTOM_HEALTH_CHECK_WARNING = "CustomHealthCheckWarning"
_LISTED = 10
ERROR_CONDITIONS = (COMPARISON_ERROR, INVALID_SPEC_ERROR)

_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: Sequence[Mapping[str, Any]] | None, kind: str, message: str, *, at: str
) -> list[dict[str, Any]]:
    """``conditions`` with the one of type ``kind`` set to ``message`` (time kept if unchanged)."""
    out: list[dict[str, Any]] = []
    found = False
    for cond in conditions or []:
        if cond.get("type") == kind:
            found = True
            if cond.get("message") == message:
                out.append(dict(cond))
            else:
                out.append({"type": kind, "message": message, "lastTransitionTime": at})
        else:
            out.append(dict(cond))
    if not found:
        out.append({"type": kind, "message": message, "lastTransitionTime": at})
    return out


def clear_conditions(
    conditions: Sequence[Mapping[str, Any]] | None, kinds: Iterable[str]
) -> list[dict[str, Any]]:
    drop = set(kinds)
    return [dict(c) for c in conditions or [] if c.get("type") not in drop]


def _compared_to(app: model_app.Application) -> dict[str, Any]:
    spec = app.spec
    out: dict[str, Any] = {
        "destination": spec.destination.model_dump(mode="json", by_alias=True, exclude_none=True)
    }
    if spec.has_multiple_sources:
        out["sources"] = [
            s.model_dump(mode="json", by_alias=True, exclude_none=True) for s in spec.all_sources()
        ]
    elif spec.source is not None:
        out["source"] = spec.source.model_dump(mode="json", by_alias=True, exclude_none=True)
    if spec.ignore_differences:
        out["ignoreDifferences"] = [
            d.model_dump(mode="json", by_alias=True, exclude_none=True)
            for d in spec.ignore_differences
        ]
    return out


def _images(targets: Iterable[Mapping[str, Any]]) -> list[str]:
    found: set[str] = set()
    for obj in targets:
        if obj.get("kind") not in _WORKLOAD_KINDS:
            continue
        spec = obj.get("spec") or {}
        if obj.get("kind") == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        pod = spec if obj.get("kind") == "Pod" else ((spec.get("template") or {}).get("spec") or {})
        for field in ("containers", "initContainers"):
            for container in pod.get(field) or []:
                if isinstance(container, Mapping) and container.get("image"):
                    found.add(str(container["image"]))
    return sorted(found)


def resource_entry(state: cmp.ResourceState) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "group": state.key.group,
        "version": state.version,
        "kind": state.key.kind,
        "namespace": state.key.namespace,
        "name": state.key.name,
        "status": state.status.value,
    }
    if not state.key.namespace:
        del entry["namespace"]
    if not state.key.group:
        del entry["group"]
    if state.health is not None:
        entry["health"] = state.health.to_dict()
    if state.hook:
        entry["hook"] = True
    if state.requires_pruning:
        entry["requiresPruning"] = True
    return entry


def comparison_status(
    app: model_app.Application,
    result: cmp.Comparison,
    *,
    conditions: Sequence[Mapping[str, Any]] | None,
    at: str,
) -> dict[str, Any]:
    """The status fields a successful comparison sets."""
    sync: dict[str, Any] = {"status": result.sync_status.value, "comparedTo": _compared_to(app)}
    if app.spec.has_multiple_sources:
        sync["revisions"] = list(result.revisions)
    else:
        sync["revision"] = result.revision
    status: dict[str, Any] = {
        "sync": sync,
        # message None: the merge patch deletes a message left by an earlier status (such as
        # "cluster ... is unreachable") when the new health has none.
        "health": {"message": None, **result.health.to_dict()},
        "resources": [resource_entry(s) for s in result.resources],
        "summary": {"images": _images(result.targets)},
        "reconciledAt": at,
        "observedAt": at,
        "conditions": clear_conditions(conditions, ERROR_CONDITIONS) or None,
    }
    if result.problems:
        # Argo CD reports dry-run failures found while comparing as a ComparisonError.
        status["conditions"] = set_condition(
            status["conditions"], COMPARISON_ERROR, dry_run_problems(result.problems), at=at
        )
    status["conditions"] = health_check_failures(status["conditions"], result.resources, at=at)
    if app.spec.has_multiple_sources:
        status["sourceTypes"] = [t for t in result.source_types]
    else:
        status["sourceType"] = result.source_types[0] if result.source_types else None
    return status


def health_check_failures(
    conditions: Sequence[Mapping[str, Any]] | None,
    resources: Iterable[cmp.ResourceState],
    *,
    at: str,
) -> list[dict[str, Any]] | None:
    """``conditions`` with a CustomHealthCheckWarning listing the resources whose custom health
    check failed to run and why (the message names the argocd-cm key); cleared when none."""
    failed = sorted(
        f"{s.key.kind} {s.key.namespace + '/' if s.key.namespace else ''}{s.key.name}: "
        f"{s.health.message}"
        for s in resources
        if s.health is not None and s.health.check_error
    )
    if not failed:
        return clear_conditions(conditions, [CUSTOM_HEALTH_CHECK_WARNING]) or None
    more = f"; and {len(failed) - _LISTED} more" if len(failed) > _LISTED else ""
    message = (
        f"custom health check failed for {len(failed)} resource(s): "
        + "; ".join(failed[:_LISTED]) + more
    )  # fmt: skip
    return set_condition(conditions, CUSTOM_HEALTH_CHECK_WARNING, message, at=at)


def dry_run_problems(problems: Sequence[tuple[ResourceKey, str]]) -> str:
    """The ComparisonError message for objects the server-side dry run rejects."""
    lines = sync_validate.problem_lines(problems)
    return (
        f"server-side dry run rejected {len(lines)} object(s); a sync would fail its "
        "validation and apply nothing:\n" + "\n".join(f"- {line}" for line in lines)
    )


def error_status(
    app: model_app.Application,
    *,
    kind: str,
    message: str,
    conditions: Sequence[Mapping[str, Any]] | None,
    at: str,
) -> dict[str, Any]:
    """Status for an app that could not be compared: sync Unknown, the error as a condition.

    Resources and health are left as they were: nothing about the live state is known to have
    changed, and a failed comparison never leads to a prune.
    """
    others = [c for c in ERROR_CONDITIONS if c != kind]
    return {
        "sync": {"status": SyncStatusCode.UNKNOWN.value, "comparedTo": _compared_to(app)},
        "reconciledAt": at,
        "conditions": set_condition(clear_conditions(conditions, others), kind, message, at=at),
    }


def error_status_raw(
    raw: Mapping[str, Any],
    *,
    kind: str,
    message: str,
    conditions: Sequence[Mapping[str, Any]] | None,
    at: str,
) -> dict[str, Any]:
    """Like :func:`error_status` for an Application too invalid to be parsed."""
    return {
        "sync": {"status": SyncStatusCode.UNKNOWN.value},
        "reconciledAt": at,
        "conditions": set_condition(conditions, kind, message, at=at),
    }
