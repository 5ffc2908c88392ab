"""Kubernetes Events about a Rollout, from the change of its status (pure), as Argo Rollouts
words them: ``RolloutStepCompleted`` ("Rollout step 2/8 completed (setWeight: 40)"),
``RolloutPaused``, ``RolloutResumed``, ``RolloutAborted`` (Warning, with the status message)
and ``RolloutCompleted``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tidegate.kube.events import NORMAL, WARNING, EventSpec


def _step_text(step: Mapping[str, Any]) -> str:
    if not step:
        return ""
    kind, value = next(iter(step.items()))
    shown = json.dumps(value, separators=(",", ":")) if isinstance(value, (dict, list)) else value
    return f" ({kind}: {shown})"


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any], spec: Mapping[str, Any]
) -> list[EventSpec]:
    """The events the move from status ``before`` to ``after`` deserves (often none)."""
    out: list[EventSpec] = []
    steps = ((spec.get("strategy") or {}).get("canary") or {}).get("steps") or []
    old_index, new_index = before.get("currentStepIndex"), after.get("currentStepIndex")
    old_phase, new_phase = before.get("phase"), after.get("phase")
    if isinstance(old_index, int) and isinstance(new_index, int) and new_index > old_index:
        for done in range(old_index, min(new_index, len(steps))):
            out.append(
                EventSpec(
                    "RolloutStepCompleted",
                    f"Rollout step {done + 1}/{len(steps)} completed{_step_text(steps[done])}",
                )
            )
    old_phase, new_phase = before.get("phase"), after.get("phase")
    # `abort` is set by whoever aborts (the CLI, Argo CD's action); the event marks the
    # controller carrying it out: the move to Degraded.
    aborted = bool(after.get("abort")) and new_phase == "Degraded" and old_phase != "Degraded"
    if aborted:
        out.append(
            EventSpec("RolloutAborted", str(after.get("message") or "Rollout aborted"), WARNING)
        )
    elif new_phase != old_phase:
        if new_phase == "Paused":
            out.append(EventSpec("RolloutPaused", str(after.get("message") or "Rollout is paused")))
        elif old_phase == "Paused" and new_phase == "Progressing":
            out.append(EventSpec("RolloutResumed", "Rollout is resumed"))
        elif new_phase == "Healthy" and old_phase in ("Progressing", "Paused"):
            revision = str(after.get("currentPodHash") or "")
            out.append(
                EventSpec("RolloutCompleted", f"Rollout completed update to {revision}", NORMAL)
            )
    return out
