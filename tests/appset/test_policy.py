"""Table-driven tests of reconcile planning (testdata/policy.yaml) and cross-set conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.appset import applications, policy
from tidegate.model import errors

from . import support

CASES = support.cases("policy.yaml")
_FINALIZERS = ["resources-finalizer.argocd.argoproj.io"]


def _existing(short: dict[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": short["name"], "namespace": "argocd"}
    for key in ("labels", "annotations"):
        if key in short:
            metadata[key] = short[key]
    if "owner" in short:
        metadata["ownerReferences"] = [
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
             "name": short["owner"], "uid": "x", "controller": True}
        ]  # fmt: skip
        metadata["finalizers"] = list(_FINALIZERS)
    metadata["resourceVersion"] = "42"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": metadata, "spec": short.get("spec") or {},
            "status": {"sync": {"status": "Synced"}}}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_changes(case: dict[str, Any]) -> None:
    desired = applications.generate_applications(case["appset"])
    existing = [_existing(e) for e in case["existing"]]
    plan = policy.plan_changes(case["appset"], desired, existing, policy=case.get("policy"))
    expect = case["expect"]
    assert [a["metadata"]["name"] for a in plan.create] == expect.get("create", [])
    assert [a["metadata"]["name"] for a in plan.update] == expect.get("update", [])
    assert plan.delete == expect.get("delete", [])
    if "unchanged" in expect:
        assert plan.unchanged == expect["unchanged"]
    assert [[s.application, s.action] for s in plan.skipped] == expect.get("skipped", [])
    assert [[c.application, c.owner] for c in plan.conflicts] == expect.get("conflicts", [])
    updated = {a["metadata"]["name"]: a for a in plan.update}
    for name, partial in (case.get("updated") or {}).items():
        support.assert_subset(partial, updated[name], name)
    for name, path in (case.get("updated_absent") or {}).items():
        node: Any = updated[name]
        for part in path[:-1]:
            node = node[part]
        assert path[-1] not in node


def test_no_change_plan_is_empty() -> None:
    appset = CASES[0]["appset"]
    desired = applications.generate_applications(appset)
    plan = policy.plan_changes(appset, desired, [dict(a) for a in desired])
    assert plan.empty
    assert plan.unchanged == ["a", "b", "c"]


def test_explicit_nulls_in_the_template_are_no_change() -> None:
    """The API server drops null map entries when it stores an Application; a template's
    ``syncPolicy: null`` must not make every reconcile rewrite every app."""
    appset = CASES[0]["appset"]
    desired = applications.generate_applications(appset)
    with_nulls = [{**a, "spec": {**a["spec"], "syncPolicy": None, "info": None}} for a in desired]
    stored = [dict(a) for a in desired]  # what the API server keeps: no nulls
    plan = policy.plan_changes(appset, with_nulls, stored)
    assert plan.update == [] and plan.unchanged == ["a", "b", "c"]


def test_unknown_policy_is_a_spec_error() -> None:
    appset = {"metadata": {"name": "x"}, "spec": {"syncPolicy": {"applicationsSync": "yolo"}}}
    with pytest.raises(errors.SpecError, match="unknown policy 'yolo'"):
        policy.plan_changes(appset, [], [])


def test_cross_set_conflicts_are_reported_to_every_set() -> None:
    conflicts = policy.cross_set_conflicts(
        {"set-a": ["shared", "only-a"], "set-b": ["shared"], "set-c": ["only-c"]}
    )
    assert sorted(conflicts) == ["set-a", "set-b"]
    assert [(c.application, c.owner) for c in conflicts["set-a"]] == [("shared", "set-b")]
    assert [(c.application, c.owner) for c in conflicts["set-b"]] == [("shared", "set-a")]
