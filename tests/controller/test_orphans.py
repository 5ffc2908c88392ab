"""controller.orphans (pure): which untracked objects of the destination namespace are orphaned
(Argo CD's rules and exceptions), the condition, and which apps to refresh on a change."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import orphans
from tidegate.live import store as live_store
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey

NS = "shop"


def _project(spec: dict[str, Any]) -> model_project.AppProject:
    return model_project.parse_project(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "p", "namespace": "tg"},
            "spec": {"sourceRepos": ["*"], **spec},
        }
    )


def _key(kind: str, name: str, group: str = "", namespace: str = NS) -> ResourceKey:
    return ResourceKey(group, kind, namespace, name)


CANDIDATES: dict[ResourceKey, str | None] = {
    _key("ConfigMap", "stray"): None,
    _key("Deployment", "legacy", "apps"): None,
    _key("Secret", "tls.example.com"): None,
    _key("Service", "web"): "web",  # tracked by an existing app
    _key("Service", "ghost"): "deleted-app",  # tracked by an app that no longer exists
    _key("ServiceAccount", "default"): None,  # made by Kubernetes in every namespace
    _key("ConfigMap", "kube-root-ca.crt"): None,
    _key("Role", "reader", "rbac.authorization.k8s.io"): None,
}
EVERY_ORPHAN = sorted(  # by group, kind, namespace, name
    [
        _key("ConfigMap", "stray"),
        _key("Deployment", "legacy", "apps"),
        _key("Role", "reader", "rbac.authorization.k8s.io"),
        _key("Secret", "tls.example.com"),
        _key("Service", "ghost"),
    ]
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, []),  # orphanedResources absent: not monitored
        ({"orphanedResources": {}}, EVERY_ORPHAN),
        ({"orphanedResources": {"warn": True}}, EVERY_ORPHAN),
        (
            {
                "orphanedResources": {
                    "ignore": [
                        {"kind": "Secret", "name": "*.example.com"},
                        {"group": "apps", "name": "leg*"},  # any kind of the group
                        {"kind": "ConfigMap", "group": "apps"},  # wrong group: no effect
                    ]
                }
            },
            [k for k in EVERY_ORPHAN if k.kind not in ("Secret", "Deployment")],
        ),
        (
            {  # denied in the project: an administrator's object, never an orphan
                "orphanedResources": {"warn": True},
                "namespaceResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "*"}],
            },
            [k for k in EVERY_ORPHAN if k.kind != "Role"],
        ),
        (
            {
                "orphanedResources": {"warn": True},
                "namespaceResourceWhitelist": [{"group": "", "kind": "ConfigMap"}],
            },
            [_key("ConfigMap", "stray")],
        ),
    ],
)
def test_find(spec: dict[str, Any], expected: list[ResourceKey]) -> None:
    assert orphans.find(_project(spec), CANDIDATES, known_apps={"web"}) == expected


def test_kubernetes_service_is_exempt_only_in_default() -> None:
    project = _project({"orphanedResources": {}})
    candidates: dict[ResourceKey, str | None] = {
        _key("Service", "kubernetes", namespace="default"): None,
        _key("Service", "kubernetes"): None,
    }
    assert orphans.find(project, candidates, known_apps=()) == [_key("Service", "kubernetes")]


def test_condition_needs_warn_and_lists_the_orphans() -> None:
    warn = _project({"orphanedResources": {"warn": True}})
    quiet = _project({"orphanedResources": {"warn": False}})
    other = [{"type": "SyncError", "message": "x", "lastTransitionTime": "t0"}]
    set_ = orphans.conditions(other, project=warn, orphans=EVERY_ORPHAN, at="t1")
    assert set_ is not None and set_[0] == other[0]
    assert set_[1]["type"] == "OrphanedResourceWarning"
    assert set_[1]["message"] == (
        "Application has 5 orphaned resources: ConfigMap/stray, Secret/tls.example.com, "
        "Service/ghost, Deployment.apps/legacy, Role.rbac.authorization.k8s.io/reader"
    )
    assert orphans.conditions(set_, project=quiet, orphans=EVERY_ORPHAN, at="t2") == other
    assert orphans.conditions(set_, project=warn, orphans=[], at="t2") == other
    assert orphans.conditions(set_[1:], project=None, orphans=EVERY_ORPHAN, at="t2") is None
    many = [_key("ConfigMap", f"cm-{i:02}") for i in range(25)]
    text = orphans.message(many)
    assert text.startswith("Application has 25 orphaned resources: ConfigMap/cm-00, ")
    assert text.endswith("ConfigMap/cm-19 and 5 more")


def test_update_reads_the_live_store_only_when_monitored() -> None:
    store = live_store.LiveStore()
    store.upsert(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "stray", "namespace": NS, "uid": "u1"},
        }
    )
    warn = _project({"orphanedResources": {"warn": True}})
    found = orphans.update(None, project=warn, store=store, namespace=NS, known_apps=(), at="t")
    assert found is not None and "ConfigMap/stray" in found[0]["message"]
    assert (
        orphans.update(None, project=warn, store=store, namespace="", known_apps=(), at="t") is None
    )
    assert (
        orphans.update(None, project=_project({}), store=store, namespace=NS, known_apps=(), at="t")
        is None
    )


def test_watching_selects_apps_of_monitoring_projects_in_the_namespace() -> None:
    projects = {"watch": _project({"orphanedResources": {}}), "default": _project({})}
    apps = {
        "a": {"spec": {"project": "watch", "destination": {"namespace": NS}}},
        "b": {"spec": {"project": "watch", "destination": {"namespace": "other"}}},
        "c": {"spec": {"project": "default", "destination": {"namespace": NS}}},
        "d": {"spec": {"destination": {"namespace": NS}}},  # project "default"
        "e": {"spec": {"project": "gone", "destination": {"namespace": NS}}},
    }
    assert orphans.watching(apps, projects, NS) == ["a"]


def test_any_monitored_is_false_unless_a_project_asks_for_orphans() -> None:
    # When no project monitors, no app can watch orphans: an untracked object's change is
    # dropped before the apps are scanned (a cold start's LISTs report thousands of them).
    assert not orphans.any_monitored({})
    assert not orphans.any_monitored({"default": _project({}), "p": _project({"x": 1})})
    assert orphans.any_monitored(
        {"default": _project({}), "w": _project({"orphanedResources": {}})}
    )
