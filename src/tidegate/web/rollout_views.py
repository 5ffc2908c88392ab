"""What the Rollouts page shows of each Rollout (pure): its phase, step and weight as the
resource tree shows them (:func:`tidegate.api.app_tree.rollout_info`), and for each button
(Promote = ``resume``, Promote full, Abort) why it is disabled: the action is not offered in
the Rollout's state (as the resource actions API offers it), or the user's role may not run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.api import app_rollouts, app_tree

Obj = dict[str, Any]
# (button label, action name, why it is offered disabled, in the Rollout's words)
BUTTONS = (
    ("Promote", "resume", "not paused: nothing to promote"),
    ("Promote full", "promote-full", "aborted: retry it first"),
    ("Abort", "abort", "already aborted"),
)


def _strategy(rollout: Mapping[str, Any]) -> str:
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    return "BlueGreen" if "blueGreen" in strategy else "Canary" if "canary" in strategy else ""


def row(
    item: app_rollouts.Managed,
    cluster: str,
    offered: Sequence[Mapping[str, Any]],
    denied: Callable[[str], str],
) -> Obj:
    """A row of the page. ``offered``: the actions the API offers for the live Rollout
    (``ResourceAction`` JSON); ``denied(action)``: why the user may not run it ("" if they
    may)."""
    meta = item.app.get("metadata") or {}
    live = item.live or {}
    info = {str(i["name"]): str(i["value"]) for i in app_tree.rollout_info(live)}
    status = live.get("status") or {}
    by_name = {str(a.get("name")): a for a in offered}
    buttons = []
    for label, action, state_reason in BUTTONS:
        found = by_name.get(action)
        if item.live is None:
            why = "the Rollout could not be read"
        elif found is None:
            why = f"the {action} action is not offered for this Rollout"
        elif found.get("disabled"):
            why = f"{item.name} is {state_reason}"
        else:
            why = denied(action)
        buttons.append({"label": label, "action": action, "disabled": why})
    return {
        "app": str(meta.get("name") or ""),
        "app_namespace": str(meta.get("namespace") or ""),
        "project": str((item.app.get("spec") or {}).get("project") or ""),
        "cluster": cluster,
        "namespace": item.namespace,
        "name": item.name,
        "version": item.version,
        "strategy": _strategy(live),
        "phase": info.get("Status") or ("Unknown" if item.live is None else ""),
        "step": info.get("Step", ""),
        "weight": info.get("Weight", ""),
        "message": str(status.get("message") or item.error),
        "error": item.error,
        "buttons": buttons,
    }
