"""AppProject rules (pure): tables over testdata/projects.yaml, one per rule."""

from __future__ import annotations

import asyncio
import pathlib
from typing import Any

import pytest
import yaml

from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sync import prepare, projects

TABLES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/projects.yaml").read_text())
SERVER, CLUSTER = "https://dev:6443", "dev"


def _project(spec: dict[str, Any]) -> model_project.AppProject:
    return model_project.parse_project(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team-a", "namespace": "argocd"},
            "spec": spec,
        }
    )


def _ids(table: str, *fields: str) -> list[str]:
    return ["|".join(str(c.get(f)) for f in fields) for c in TABLES[table]]


@pytest.mark.parametrize("case", TABLES["repos"], ids=_ids("repos", "patterns", "url"))
def test_source_repos(case: dict[str, Any]) -> None:
    project = _project({"sourceRepos": case["patterns"]})
    assert projects.repo_permitted(project, case["url"]) is case["permitted"]


@pytest.mark.parametrize(
    "case", TABLES["destinations"], ids=_ids("destinations", "destinations", "name", "namespace")
)
def test_destinations(case: dict[str, Any]) -> None:
    project = _project({"destinations": case["destinations"]})
    rule = projects.destination_refusal(
        project, server=case["server"], name=case["name"], namespace=case["namespace"]
    )
    assert (rule is None) is case["permitted"], rule
    if "rule" in case:
        assert rule == case["rule"]


@pytest.mark.parametrize(
    "case",
    TABLES["app_namespaces"],
    ids=_ids("app_namespaces", "source_namespaces", "app_namespace"),
)
def test_source_namespaces(case: dict[str, Any]) -> None:
    project = _project({"sourceNamespaces": case["source_namespaces"]})
    permitted = projects.app_namespace_permitted(
        project, case["app_namespace"], control_namespace="argocd"
    )
    assert permitted is case["permitted"]


@pytest.mark.parametrize(
    "case", TABLES["kinds"], ids=_ids("kinds", "project", "kind", "namespaced")
)
def test_kinds(case: dict[str, Any]) -> None:
    project = _project(case["project"])
    rule = projects.kind_refusal(
        project, case["group"], case["kind"], namespaced=case["namespaced"]
    )
    assert rule == case["rule"]


def _rules(case: dict[str, Any]) -> projects.Rules:
    cluster = case.get("cluster") or {}
    return projects.Rules(
        _project(case["project"]),
        server=SERVER,
        cluster_name=CLUSTER,
        cluster_namespaces=tuple(cluster.get("namespaces") or ()),
        cluster_resources=bool(cluster.get("cluster_resources")),
    )


@pytest.mark.parametrize("case", TABLES["objects"], ids=[c["name"] for c in TABLES["objects"]])
def test_objects(case: dict[str, Any]) -> None:
    key = ResourceKey(*case["key"])
    found = projects.refusals(_rules(case), [(key, case["namespaced"])])
    assert [str(r) for r in found] == case["refusals"]
    if found:
        error = projects.refused_error(found)
        expected = (
            errors.ClusterScopeError if case.get("by_cluster") else errors.ProjectPermissionError
        )
        assert type(error) is expected
        assert all(message in str(error) for message in case["refusals"])


def test_live_objects_the_project_does_not_permit_are_left_alone() -> None:
    rules = _rules({"project": {"destinations": [{"server": "*", "namespace": "web"}]}})
    kept_obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "web"},
    }
    outside = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}}
    cluster_role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "c"}}  # fmt: skip
    kept, left = projects.split_live(rules, [kept_obj, outside, cluster_role])
    assert kept == [kept_obj]
    assert [r.key.name for r in left] == ["b", "c"]


def _app(**spec: Any) -> model_app.Application:
    return model_app.parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {
                "project": "team-a",
                "source": {
                    "repoURL": "https://user:hunter2@git.example.com/other/repo.git",
                    "path": ".",
                },
                "destination": {"server": SERVER, "namespace": "web"},
                **spec,
            },
        }
    )


def test_app_violations_name_every_broken_rule_and_hide_credentials() -> None:
    project = _project(
        {
            "sourceRepos": ["https://git.example.com/team-a/*"],
            "destinations": [{"server": SERVER, "namespace": "api"}],
        }
    )
    found = projects.app_violations(
        _app(), project, control_namespace="argocd", server=SERVER, cluster_name=CLUSTER
    )
    assert found == [
        "application 'web' in namespace 'apps' is not permitted to use project 'team-a' "
        "(sourceNamespaces: none)",
        "application repo https://git.example.com/other/repo.git is not permitted in project "
        "'team-a' (sourceRepos)",
        "application destination server 'https://dev:6443' and namespace 'web' do not match any "
        "of the allowed destinations in project 'team-a'",
    ]
    assert "hunter2" not in " ".join(found)


def test_a_missing_project_is_a_violation() -> None:
    found = projects.app_violations(
        _app(), None, control_namespace="apps", server=SERVER, cluster_name=CLUSTER
    )
    assert found == ["Application referencing project team-a which does not exist"]


class _Discovery:
    """API discovery of a cluster serving ConfigMaps (namespaced) and ClusterRoles."""

    config = type("Config", (), {"namespace": "from-kubeconfig"})()

    async def resource_for(self, obj: Any) -> Any:
        kind = obj["kind"]
        if kind not in ("ConfigMap", "ClusterRole"):
            raise errors.UnknownKindError(f"{kind} is not served")
        return type("Res", (), {"namespaced": kind == "ConfigMap"})()


def test_scoped_keys_settle_namespaces_as_the_sync_will() -> None:
    objs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "r", "namespace": "stray"}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}},
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "gadgets.example.com"},
         "spec": {"group": "example.com", "names": {"kind": "Gadget"}, "scope": "Cluster"}},
    ]  # fmt: skip
    client: Any = _Discovery()
    found = asyncio.run(prepare.scoped_keys(objs[:5], client=client, destination_namespace="web"))
    assert found[:4] == [
        (ResourceKey("", "ConfigMap", "web", "a"), True),
        (ResourceKey("", "ConfigMap", "x", "b"), True),
        (ResourceKey("rbac.authorization.k8s.io", "ClusterRole", "", "r"), False),
        # an unknown kind counts as namespaced, in the destination namespace
        (ResourceKey("example.com", "Widget", "web", "w"), True),
    ]
    with_crd = asyncio.run(prepare.scoped_keys(objs[4:5] + objs[5:], client=client,
                                               destination_namespace="web"))  # fmt: skip
    assert with_crd[0] == (ResourceKey("example.com", "Gadget", "", "g"), False)


def test_permit_only_project_scoped_clusters() -> None:
    project = _project(
        {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "permitOnlyProjectScopedClusters": True,
        }
    )
    app = _app(project="team-a")

    def found(cluster_project: str) -> list[str]:
        return projects.app_violations(
            app, project, control_namespace="apps", server=SERVER, cluster_name=CLUSTER,
            cluster_project=cluster_project,
        )  # fmt: skip

    assert found("team-a") == []
    assert found("") == [
        "application destination cluster 'dev' is not scoped to project 'team-a' "
        "(permitOnlyProjectScopedClusters)"
    ]
