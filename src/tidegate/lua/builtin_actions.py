"""The resource actions Argo CD ships for common kinds, written in Python (no Lua), and how
they combine with the argocd-cm ones of :mod:`tidegate.lua.actions`. Pure: the time comes in,
the caller applies the result.

| kind | actions |
|---|---|
| apps/Deployment | ``restart``; ``pause`` (offered while not paused) or ``resume`` (while paused) |
| apps/StatefulSet, apps/DaemonSet | ``restart`` |
| argoproj.io/Rollout | ``restart``, ``resume``, ``abort``, ``retry``, ``promote-full`` |
| batch/CronJob | ``create-job`` |

``restart`` of a workload sets ``kubectl.kubernetes.io/restartedAt`` on the pod template (as
``kubectl rollout restart``); a Rollout's sets ``spec.restartAt``. Rollout ``resume`` clears
``status.pauseConditions`` and ``spec.paused``; ``abort`` sets ``status.abort``; ``retry``
clears it; ``promote-full`` sets ``status.promoteFull`` (status fields go through the status
subresource). Disabled, as offered: Rollout ``resume`` unless paused, ``abort`` and
``promote-full`` once aborted, ``retry`` unless aborted. ``create-job`` creates a Job from the
CronJob's ``jobTemplate`` named ``<cronjob>-<unix time>``, owned by the CronJob and annotated
``cronjob.kubernetes.io/instantiate: manual`` (what ``kubectl create job --from`` does).

argocd-cm actions configured for a kind replace its built-ins, unless their YAML says
``mergeBuiltinActions: true``: then both are offered and a custom action of the same name wins.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from tidegate.lua.actions import (
    Action,
    ImpactedResource,
    ResourceActions,
    check_offered,
)

Obj = dict[str, Any]
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
INSTANTIATE = "cronjob.kubernetes.io/instantiate"
_REDO = "fa fa-fw fa-redo"


def _stamp(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _group_kind(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion") or "")
    group = api_version.rpartition("/")[0]
    return f"{group}/{obj.get('kind') or ''}"


def _restart_template(obj: Mapping[str, Any], now: dt.datetime) -> Obj:
    out = copy.deepcopy(dict(obj))
    template = out.setdefault("spec", {}).setdefault("template", {})
    meta = template.get("metadata") or {}
    template["metadata"] = {**meta, "annotations": {**(meta.get("annotations") or {}),
                                                   RESTARTED_AT: _stamp(now)}}  # fmt: skip
    return out


def _with(obj: Mapping[str, Any], section: str, **fields: Any) -> Obj:
    """A copy with ``section``'s fields set (None: removed)."""
    out = copy.deepcopy(dict(obj))
    part = dict(out.get(section) or {})
    for key, value in fields.items():
        if value is None:
            part.pop(key, None)
        else:
            part[key] = value
    out[section] = part
    return out


def _deployment_paused(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("spec") or {}).get("paused"))


def _rollout_paused(obj: Mapping[str, Any]) -> bool:
    return _deployment_paused(obj) or bool((obj.get("status") or {}).get("pauseConditions"))


def _rollout_aborted(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("status") or {}).get("abort"))


def _resume_rollout(obj: Mapping[str, Any]) -> Obj:
    return _with(_with(obj, "status", pauseConditions=None), "spec", paused=None)


def _create_job(obj: Mapping[str, Any], now: dt.datetime) -> list[ImpactedResource]:
    meta = obj.get("metadata") or {}
    template = (obj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    name = f"{meta.get('name', '')}-{int(now.timestamp())}"[:63]
    owner = {"apiVersion": str(obj.get("apiVersion") or "batch/v1"), "kind": "CronJob",
             "name": meta.get("name"), "uid": meta.get("uid"),
             "blockOwnerDeletion": True, "controller": True}  # fmt: skip
    job: Obj = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": {**(tmeta.get("annotations") or {}), INSTANTIATE: "manual"},
            "ownerReferences": [{k: v for k, v in owner.items() if v is not None}],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if not job["metadata"]["labels"]:
        del job["metadata"]["labels"]
    return [ImpactedResource("create", job)]


Offer = Callable[[Mapping[str, Any]], list[Action]]
Run = Callable[[Mapping[str, Any], dt.datetime], list[ImpactedResource]]


def _patch(change: Callable[[Mapping[str, Any], dt.datetime], Obj]) -> Run:
    return lambda obj, now: [ImpactedResource("patch", change(obj, now))]


_RESTART = _patch(_restart_template)
BUILTINS: dict[str, tuple[Offer, dict[str, Run]]] = {
    "apps/Deployment": (
        lambda obj: [
            Action("restart", icon_class=_REDO, display_name="Restart"),
            Action("resume", display_name="Resume")
            if _deployment_paused(obj)
            else Action("pause", display_name="Pause"),
        ],
        {
            "restart": _RESTART,
            "pause": _patch(lambda obj, _now: _with(obj, "spec", paused=True)),
            "resume": _patch(lambda obj, _now: _with(obj, "spec", paused=None)),
        },
    ),
    "apps/StatefulSet": (lambda _obj: [Action("restart", icon_class=_REDO)], {"restart": _RESTART}),
    "apps/DaemonSet": (lambda _obj: [Action("restart", icon_class=_REDO)], {"restart": _RESTART}),
    "argoproj.io/Rollout": (
        lambda obj: [
            Action("abort", disabled=_rollout_aborted(obj)),
            Action("promote-full", disabled=_rollout_aborted(obj)),
            Action("restart", icon_class=_REDO),
            Action("resume", disabled=not _rollout_paused(obj)),
            Action("retry", disabled=not _rollout_aborted(obj)),
        ],
        {
            "restart": _patch(lambda obj, now: _with(obj, "spec", restartAt=_stamp(now))),
            "resume": _patch(lambda obj, _now: _resume_rollout(obj)),
            "abort": _patch(lambda obj, _now: _with(obj, "status", abort=True)),
            "retry": _patch(lambda obj, _now: _with(obj, "status", abort=None)),
            "promote-full": _patch(lambda obj, _now: _with(obj, "status", promoteFull=True)),
        },
    ),
    "batch/CronJob": (lambda _obj: [Action("create-job")], {"create-job": _create_job}),
}


class WithBuiltins:
    """argocd-cm's actions (``custom``) plus the built-ins, with Argo CD's precedence; the same
    ``list``/``run`` as :class:`ResourceActions`."""

    def __init__(
        self, custom: ResourceActions, clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        self.custom = custom
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def _builtin(self, obj: Mapping[str, Any]) -> tuple[Offer, dict[str, Run]] | None:
        found = BUILTINS.get(_group_kind(obj))
        if found is None:
            return None
        if self.custom.has_actions(obj) and not self.custom.merges_builtins(obj):
            return None
        return found

    def list(self, obj: Mapping[str, Any]) -> builtins.list[Action]:
        custom = self.custom.list(obj) if self.custom.has_actions(obj) else []
        found = self._builtin(obj)
        names = {a.name for a in custom}
        extra = [a for a in found[0](obj) if a.name not in names] if found else []
        return sorted([*custom, *extra], key=lambda a: a.name)

    def run(
        self, obj: Mapping[str, Any], name: str, params: Mapping[str, str] | None = None
    ) -> builtins.list[ImpactedResource]:
        if self.custom.has_actions(obj) and any(a.name == name for a in self.custom.list(obj)):
            return self.custom.run(obj, name, params)
        found = self._builtin(obj)
        if found is None:
            return self.custom.run(obj, name, params)  # its precise refusal
        meta = obj.get("metadata") or {}
        what = f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"
        check_offered(what, name, {a.name: a.disabled for a in found[0](obj)})
        return found[1][name](obj, self._clock())
