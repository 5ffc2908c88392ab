"""The controller's side of project enforcement: rules from the cluster Secret, and the
condition that reports live objects left alone (pure)."""

from __future__ import annotations

from tidegate.controller import clusters, projects
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sync import projects as sync_projects

PROJECT = model_project.parse_project(
    {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": "team-a"},
     "spec": {"destinations": [{"server": "*", "namespace": "web"}]}}
)  # fmt: skip


def test_rules_carry_the_cluster_registration() -> None:
    cluster = clusters.Cluster(
        "dev", "https://dev:6443", None, namespaces=("web",), cluster_resources=True
    )
    rules = projects.rules_for(PROJECT, cluster)
    assert rules == sync_projects.Rules(
        PROJECT, server="https://dev:6443", cluster_name="dev", cluster_namespaces=("web",),
        cluster_resources=True,
    )  # fmt: skip
    assert projects.rules_for(None, cluster) is None


def test_left_alone_objects_are_reported_then_cleared() -> None:
    refusal = sync_projects.Refusal(ResourceKey("", "ConfigMap", "old", "cm"), "a rule")
    other = {"type": "SyncError", "message": "x", "lastTransitionTime": "t0"}
    reported = projects.report_left_alone([other], [refusal], at="t1")
    assert reported is not None
    warning = reported[-1]
    assert warning["type"] == projects.EXCLUDED_RESOURCE_WARNING
    assert "ConfigMap/cm in namespace 'old': a rule" in warning["message"]
    assert projects.report_left_alone(reported, [], at="t2") == [other]
    assert projects.report_left_alone(None, [], at="t2") is None
