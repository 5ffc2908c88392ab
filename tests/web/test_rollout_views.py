"""The Rollouts page's rows (pure): found in the apps' managed resources, the step and weight
as the tree shows them, and why each button is disabled."""

from __future__ import annotations

from typing import Any

from tidegate.api import app_rollouts
from tidegate.web import rollout_views

APP: dict[str, Any] = {
    "metadata": {"name": "shop", "namespace": "argocd"},
    "spec": {"project": "team"},
    "status": {
        "resources": [
            {"kind": "Service", "name": "web", "namespace": "shop"},
            {"group": "argoproj.io", "version": "v1alpha1", "kind": "Rollout",
             "namespace": "shop", "name": "web"},
        ]
    },
}  # fmt: skip
LIVE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {}]}}},
    "status": {"phase": "Paused", "currentStepIndex": 1, "message": "CanaryPauseStep"},
}
OFFERED = [
    {"name": "abort", "disabled": False},
    {"name": "promote-full", "disabled": False},
    {"name": "resume", "disabled": False},
]


def test_managed_rollouts_come_from_the_apps_resources() -> None:
    other = {"metadata": {"name": "none"}, "status": {"resources": [{"kind": "Rollout"}]}}
    found = app_rollouts.managed([APP, other, APP], limit=1)
    assert [(m.app["metadata"]["name"], m.namespace, m.name, m.version) for m in found] == [
        ("shop", "shop", "web", "v1alpha1")
    ]
    assert len(app_rollouts.managed([APP, other, APP])) == 2


def test_a_paused_canary_row() -> None:
    item = app_rollouts.managed([APP])[0]
    item.live = LIVE
    row = rollout_views.row(item, "dev", OFFERED, lambda action: "")
    assert (row["phase"], row["step"], row["weight"], row["strategy"]) == (
        "Paused", "1/3", "20%", "Canary",
    )  # fmt: skip
    assert (row["app"], row["project"], row["cluster"], row["message"]) == (
        "shop", "team", "dev", "CanaryPauseStep",
    )  # fmt: skip
    assert [(b["label"], b["action"], b["disabled"]) for b in row["buttons"]] == [
        ("Promote", "resume", ""), ("Promote full", "promote-full", ""), ("Abort", "abort", ""),
    ]  # fmt: skip


def test_buttons_say_why_they_are_disabled() -> None:
    item = app_rollouts.managed([APP])[0]
    item.live = LIVE
    offered = [{"name": "promote-full", "disabled": False}, {"name": "resume", "disabled": True}]
    row = rollout_views.row(item, "dev", offered, lambda a: "no" if a == "promote-full" else "")
    why = {b["action"]: b["disabled"] for b in row["buttons"]}
    assert why == {
        "resume": "web is not paused: nothing to promote",
        "promote-full": "no",
        "abort": "the abort action is not offered for this Rollout",
    }
    unread = app_rollouts.managed([APP])[0]
    unread.error = "cluster dev is unreachable"
    row = rollout_views.row(unread, "dev", [], lambda a: "")
    assert row["phase"] == "Unknown" and row["message"] == "cluster dev is unreachable"
    assert {b["disabled"] for b in row["buttons"]} == {"the Rollout could not be read"}
