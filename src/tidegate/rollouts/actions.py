"""What ``tidegate rollout <verb>`` writes, as kubectl-argo-rollouts does (pure).

Each function returns ``(subresource, merge patch)``: ``"status"`` for the control flags the
controller reads (``pauseConditions``, ``abort``, ``promoteFull``, ``currentStepIndex``), ``""``
for the spec. They agree with Argo CD's built-in Rollout resource actions
(:mod:`tidegate.lua.builtin_actions`): resume clears the pause conditions and ``spec.paused``,
abort sets ``status.abort``, retry clears it, promote-full sets ``status.promoteFull``, restart
sets ``spec.restartAt``.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.model import mergepatch
from tidegate.rollouts import names, podhash, spec

Patch = tuple[str, dict[str, Any]]


class ActionError(ValueError):
    """The action cannot apply to this Rollout; the message says why."""


def is_paused(rollout: Mapping[str, Any]) -> bool:
    status = rollout.get("status") or {}
    return bool(status.get("pauseConditions")) or bool((rollout.get("spec") or {}).get("paused"))


def promote(rollout: Mapping[str, Any], *, full: bool = False) -> list[Patch]:
    """Resume a pause, skip the current step when not paused, or (``full``) skip them all."""
    patches: list[Patch] = []
    if (rollout.get("spec") or {}).get("paused"):
        patches.append(("", {"spec": {"paused": None}}))
    status = rollout.get("status") or {}
    if full:
        patches.append(("status", {"status": {"promoteFull": True, "pauseConditions": None}}))
    elif status.get("pauseConditions"):
        patches.append(("status", {"status": {"pauseConditions": None}}))
    elif not patches:
        kind, settings = spec.strategy(rollout)
        steps = spec.steps(settings) if kind == "canary" else []
        index = int(status.get("currentStepIndex") or 0)
        if index < len(steps):
            patches.append(("status", {"status": {"currentStepIndex": index + 1}}))
    return patches


def abort() -> list[Patch]:
    return [("status", {"status": {"abort": True}})]


def retry() -> list[Patch]:
    return [("status", {"status": {"abort": None}})]


def pause() -> list[Patch]:
    return [("", {"spec": {"paused": True}})]


def restart(now: datetime.datetime) -> list[Patch]:
    stamp = now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [("", {"spec": {"restartAt": stamp}})]


def set_image(rollout: Mapping[str, Any], container: str, image: str) -> list[Patch]:
    """Set the image of ``container`` (``*``: every container) in the pod template."""
    template = copy.deepcopy(dict((rollout.get("spec") or {}).get("template") or {}))
    pod = template.get("spec") or {}
    found = False
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for item in pod.get(field) or ():
            if container in ("*", item.get("name")):
                item["image"] = image
                found = True
    if not found:
        raise ActionError(f"unable to find container named {container!r}")
    old_pod = ((rollout.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [("", {"spec": {"template": {"spec": mergepatch.between(old_pod, pod)}}})]


def undo(
    rollout: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], to_revision: int = 0
) -> list[Patch]:
    """Go back to the template of revision ``to_revision`` (0: the one before the current)."""
    ordered = sorted(replica_sets, key=podhash.revision, reverse=True)
    if to_revision:
        target = next((rs for rs in ordered if podhash.revision(rs) == to_revision), None)
        if target is None:
            raise ActionError(f"unable to find specified revision {to_revision} in history")
    else:
        if len(ordered) < 2:
            raise ActionError("no rollout history found")
        target = ordered[1]
    template = copy.deepcopy(dict((target.get("spec") or {}).get("template") or {}))
    labels = (template.get("metadata") or {}).get("labels") or {}
    labels.pop(names.POD_HASH_LABEL, None)
    current = (rollout.get("spec") or {}).get("template") or {}
    return [("", {"spec": {"template": mergepatch.between(current, template)}})]
