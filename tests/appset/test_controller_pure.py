"""Pure helpers of the ApplicationSet controller: status, cluster list, triggers (tables in
testdata/controller.yaml), plus transition times and RollingSync app states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.appset import clusterlist, rollout, status, triggers

TABLE = yaml.safe_load((Path(__file__).parent / "testdata" / "controller.yaml").read_text())


@pytest.mark.parametrize("case", TABLE["conditions"], ids=lambda c: c["name"])
def test_conditions(case: dict[str, Any]) -> None:
    outcome = status.Outcome(
        generation_error=case["outcome"].get("generation_error"),
        apply_errors=tuple(case["outcome"].get("apply_errors") or ()),
        conflicts=tuple(case["outcome"].get("conflicts") or ()),
    )
    got = status.conditions(outcome)
    assert [[c["type"], c["status"], c["reason"]] for c in got] == case["expect"]
    for message in [*outcome.apply_errors, *outcome.conflicts, outcome.generation_error]:
        if message:
            assert message in got[0]["message"]


@pytest.mark.parametrize("case", TABLE["clusters"], ids=lambda c: c["name"])
def test_cluster_list(case: dict[str, Any]) -> None:
    assert clusterlist.cluster_list(case["secrets"]) == case["expect"]


@pytest.mark.parametrize("case", TABLE["triggers"], ids=lambda c: c["name"])
def test_triggers(case: dict[str, Any]) -> None:
    appset = {"spec": case["spec"]}
    assert sorted(triggers.git_repos(appset)) == case["repos"]
    assert triggers.uses_git(appset) is case["git"]
    assert triggers.uses_clusters(appset) is case["clusters"]


def test_cluster_fingerprint_ignores_credentials() -> None:
    secret = TABLE["clusters"][0]["secrets"][0]
    rotated = {**secret, "data": {**secret["data"], "config": "eyJ4IjoxfQ=="}}
    relabelled = {**secret, "metadata": {**secret["metadata"], "labels": {"x": "y"}}}
    assert clusterlist.fingerprint(secret) == clusterlist.fingerprint(rotated)
    assert clusterlist.fingerprint(secret) != clusterlist.fingerprint(relabelled)


def test_transition_time_kept_while_status_holds() -> None:
    old = [{"type": "ErrorOccurred", "status": "False", "lastTransitionTime": "T0"}]
    same = status.conditions(status.Outcome())
    kept = status.with_transition_times(same, old, now="T1")
    assert kept[0]["lastTransitionTime"] == "T0"
    assert {c["lastTransitionTime"] for c in kept[1:]} == {"T1"}
    flipped = status.conditions(status.Outcome(generation_error="boom"))
    assert status.with_transition_times(flipped, old, now="T2")[0]["lastTransitionTime"] == "T2"


def test_unchanged_reconcile_builds_identical_status() -> None:
    apps = [
        {"metadata": {"name": "a", "namespace": "argocd"}, "status": {"sync": {"status": "Synced"}}}
    ]
    first = status.build(status.Outcome(), old={}, apps=apps, targets={}, now="T0")
    second = status.build(status.Outcome(), old=first, apps=apps, targets={}, now="T1")
    assert first == second
    assert first["resources"] == [
        {
            "group": "argoproj.io",
            "version": "v1alpha1",
            "kind": "Application",
            "name": "a",
            "namespace": "argocd",
            "status": "Synced",
            "health": {"status": "Unknown"},
        }
    ]


def test_app_state_and_application_status() -> None:
    app = {
        "metadata": {"name": "a", "labels": {"env": "dev"}},
        "operation": {"sync": {}},
        "status": {
            "sync": {"status": "OutOfSync", "revision": "abc"},
            "health": {"status": "Healthy"},
        },
    }
    state = status.app_state(app, target="def", previous=rollout.StepStatus.PENDING)
    assert state.operation_running and state.sync_status == "OutOfSync"
    assert state.synced_revision == "abc" and state.target_revision == "def"
    steps = [{"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev"]}]}]
    plan = rollout.plan_rollout(steps, [state])
    entries = status.application_status(plan, targets={"a": "def"}, old=[], now="T0")
    assert entries == [
        {
            "application": "a",
            "status": "Progressing",
            "message": entries[0]["message"],
            "step": "1",
            "lastTransitionTime": "T0",
            "targetRevisions": ["def"],
        }
    ]
    assert status.previous_statuses({"status": {"applicationStatus": entries}}) == {
        "a": (rollout.StepStatus.PROGRESSING, "T0")
    }
