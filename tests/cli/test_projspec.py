"""``tidegate proj``'s pure parts: flags -> AppProject, argocd's edits, validation, output."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.cli import projedit, projshow, projspec
from tidegate.cli.appspec import FlagError
from tidegate.model import errors

EDITS: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "proj_edits.yaml").read_text()
)


def _project(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "p", "namespace": "argocd", "resourceVersion": "7"},
        "spec": copy.deepcopy(spec),
    }


@pytest.mark.parametrize("case", EDITS, ids=[c["name"] for c in EDITS])
def test_edit(case: dict[str, Any]) -> None:
    project = _project(case["spec"])
    edit = getattr(projedit, case["edit"])
    if "error" in case or "flag_error" in case:
        kind = errors.ConfigError if "error" in case else FlagError
        with pytest.raises(kind) as info:
            edit(project, **case["args"])
        assert case.get("error", case.get("flag_error")) in str(info.value)
        if "after" in case:
            assert project["spec"] == case["after"]
        return
    result = edit(project, **case["args"])
    assert result.changed is case["changed"]
    if "message" in case:
        assert result.message == case["message"]
    if result.changed:
        assert project["spec"] == case["after"]
        projspec.validate(project)  # every successful edit leaves a project argocd would store


def test_create_from_flags() -> None:
    opts = projspec.ProjectOptions(
        description="team a",
        dest=["https://dev:6443,team-a", "*,team-a-*"],
        src=["https://git.example/a.git", "https://git.example/b/*"],
        signature_keys=["4aee18f83afdeb23,0123456789abcdef0123456789abcdef01234567"],
        source_namespaces=["team-a,team-a-ci", "tools"],
        allow_cluster_resource=["Namespace", "rbac.authorization.k8s.io/ClusterRole"],
        deny_namespaced_resource=["/ResourceQuota"],
        dest_service_accounts=["https://dev:6443,team-a,deployer"],
        orphaned_resources=True,
    )
    project = projspec.new_project("team-a", "argocd", opts)
    assert project["metadata"] == {"name": "team-a", "namespace": "argocd"}
    assert project["kind"] == "AppProject" and project["apiVersion"] == "argoproj.io/v1alpha1"
    assert project["spec"] == {
        "description": "team a",
        "sourceRepos": ["https://git.example/a.git", "https://git.example/b/*"],
        "sourceNamespaces": ["team-a", "team-a-ci", "tools"],
        "destinations": [
            {"server": "https://dev:6443", "namespace": "team-a"},
            {"server": "*", "namespace": "team-a-*"},
        ],
        "signatureKeys": [{"keyID": "4AEE18F83AFDEB23"}, {"keyID": "89ABCDEF01234567"}],
        "destinationServiceAccounts": [
            {
                "server": "https://dev:6443",
                "namespace": "team-a",
                "defaultServiceAccount": "deployer",
            }
        ],
        "clusterResourceWhitelist": [
            {"group": "", "kind": "Namespace"},
            {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"},
        ],
        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
        "orphanedResources": {},
    }
    projspec.validate(project)


def test_orphaned_resources_flags() -> None:
    def spec(**kw: Any) -> dict[str, Any]:
        return projspec.new_project("p", "ns", projspec.ProjectOptions(**kw))["spec"]

    assert spec() == {}
    assert spec(orphaned_resources=True) == {"orphanedResources": {}}
    assert spec(orphaned_resources_warn=True) == {"orphanedResources": {"warn": True}}
    assert spec(orphaned_resources_warn=False) == {"orphanedResources": {"warn": False}}
    target = {"orphanedResources": {"warn": True}}
    projspec.apply_options(target, projspec.ProjectOptions(orphaned_resources=False))
    assert target == {}  # set --orphaned-resources=false turns monitoring off


@pytest.mark.parametrize(
    ("opts", "flag"),
    [
        (
            {"dest": ["https://dev:6443"]},
            "--dest: 'https://dev:6443' is not SERVER,NAMESPACE",
        ),
        ({"dest": ["a,b,c"]}, "--dest"),
        ({"allow_cluster_resource": ["a/b/c"]}, "--allow-cluster-resource: 'a/b/c'"),
        ({"deny_namespaced_resource": ["apps/"]}, "--deny-namespaced-resource"),
        ({"signature_keys": ["not-hex"]}, "'not-hex' is not a valid GnuPG key ID"),
        ({"dest_service_accounts": ["https://dev,ns"]}, "--dest-service-accounts"),
    ],
)
def test_bad_flag_values_are_usage_errors(opts: dict[str, Any], flag: str) -> None:
    with pytest.raises(FlagError) as info:
        projspec.new_project("p", "argocd", projspec.ProjectOptions(**opts))
    assert flag in str(info.value)


def test_create_from_a_manifest() -> None:
    base = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "from-file", "labels": {"team": "a"}, "resourceVersion": "12"},
        "spec": {"sourceRepos": ["*"], "description": "old"},
        "status": {"jwtTokensByRole": {}},
    }
    opts = projspec.ProjectOptions(description="new")
    project = projspec.new_project("", "argocd", opts, base=base)
    assert project["metadata"] == {
        "name": "from-file",
        "labels": {"team": "a"},
        "namespace": "argocd",
    }
    assert project["spec"] == {"sourceRepos": ["*"], "description": "new"}  # flags win
    assert "status" not in project
    assert base["spec"]["description"] == "old"  # the input is not changed
    with pytest.raises(FlagError, match=r"does not match the file's metadata\.name 'from-file'"):
        projspec.new_project("other", "argocd", opts, base=base)
    elsewhere = {**base, "metadata": {"name": "from-file", "namespace": "team"}}
    with pytest.raises(FlagError, match="in namespace 'team', not in the control namespace"):
        projspec.new_project("", "argocd", opts, base=elsewhere)
    with pytest.raises(FlagError, match="a project name"):
        projspec.new_project("", "argocd", opts)


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            {"destinations": [{"server": "https://a", "namespace": "x"}] * 2},
            "project 'p': destination 'https://a/x' is listed twice",
        ),
        (
            {
                "destinations": [
                    {"name": "dev", "namespace": "x"},
                    {"name": "dev", "namespace": "x"},
                ]
            },
            "destination 'dev/x' is listed twice",
        ),
        ({"destinations": [{"server": "!*", "namespace": "x"}]}, "destination server '!*'"),
        ({"sourceRepos": ["!*"]}, "source repository '!*' is not allowed"),
        ({"sourceRepos": ["a", "a"]}, "source repository 'a' is listed twice"),
        ({"sourceNamespaces": ["a", "a"]}, "source namespace 'a' is listed twice"),
        (
            {"syncWindows": [{"kind": "allow", "schedule": "* * * * *", "duration": "1h"}]},
            "sync window 0: needs one or more of",
        ),
        (
            {
                "syncWindows": [
                    {
                        "kind": "allow",
                        "schedule": "0 1 * * *",
                        "duration": "1h",
                        "namespaces": ["a"],
                    },
                    {
                        "kind": "allow",
                        "schedule": "0 1 * * *",
                        "duration": "1h",
                        "namespaces": ["a"],
                        "description": "same window, other words",
                    },
                ]
            },
            "sync window 1 (allow '0 1 * * *' for 1h) duplicates an earlier window",
        ),
        ({"clusterResourceWhitelist": [{"group": "x"}]}, "clusterResourceWhitelist"),
        (
            {
                "destinationServiceAccounts": [
                    {"server": "*", "namespace": "web", "defaultServiceAccount": "a"},
                    {"server": "*", "namespace": "web", "defaultServiceAccount": "b"},
                ]
            },
            "destination service account '*/web' is listed twice",
        ),
        (
            {
                "destinationServiceAccounts": [
                    {"server": "!x", "namespace": "web", "defaultServiceAccount": "a"}
                ]
            },
            "'!' is not allowed",
        ),
    ],
)
def test_validate_refuses_what_argocd_refuses(spec: dict[str, Any], error: str) -> None:
    with pytest.raises(errors.ConfigError) as info:
        projspec.validate(_project(spec))
    assert error in str(info.value)


def test_get_summary_and_list_row() -> None:
    project = _project(
        {
            "description": "team a",
            "destinations": [
                {"server": "https://dev:6443", "namespace": "team-a"},
                {"name": "prod", "namespace": "team-a"},
            ],
            "sourceRepos": ["https://git.example/a.git"],
            "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
            "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
            "signatureKeys": [{"keyID": "ABCDEF0123456789"}],
            "orphanedResources": {"warn": True, "ignore": [{"kind": "ConfigMap"}]},
        }
    )
    lines = projshow.summary(project, scoped_repos=[], scoped_clusters=["https://dev:6443"])
    assert lines[:4] == [
        "Name:                        p",
        "Description:                 team a",
        "Destinations:                https://dev:6443,team-a",
        "                             prod,team-a",
    ]
    assert "Scoped Repositories:         <none>" in lines
    assert "Scoped Clusters:             https://dev:6443" in lines
    assert "Denied Namespaced Resources: /ResourceQuota" in lines
    assert "Orphaned Resources:          enabled (warn=true, ignored 1)" in lines
    assert projshow.list_row(project) == [
        "p",
        "team a",
        "2 destinations",
        "https://git.example/a.git",
        "/Namespace",
        "1 resources",
        "1 key(s)",
        "enabled (warn=true, ignored 1)",
    ]
    assert projshow.list_row(_project({}))[2:] == ["<none>"] * 5 + ["disabled"]


def test_window_rows_show_id_and_whether_active() -> None:
    project = _project(
        {
            "syncWindows": [
                {"kind": "deny", "schedule": "0 22 * * *", "duration": "2h", "clusters": ["prod"]},
                {
                    "kind": "allow",
                    "schedule": "0 8 * * *",
                    "duration": "1h",
                    "applications": ["a", "b"],
                    "manualSync": True,
                    "timeZone": "Europe/Paris",
                    "andOperator": True,
                },
            ]
        }
    )
    at = dt.datetime(2026, 1, 5, 23, 0, tzinfo=dt.UTC)  # inside the 22:00 UTC deny window
    assert projshow.window_rows(project, at) == [
        [
            "0",
            "Active",
            "deny",
            "0 22 * * *",
            "2h",
            "-",
            "-",
            "prod",
            "Disabled",
            "UTC",
            "Disabled",
        ],
        [
            "1",
            "Inactive",
            "allow",
            "0 8 * * *",
            "1h",
            "a,b",
            "-",
            "-",
            "Enabled",
            "Europe/Paris",
            "Enabled",
        ],
    ]
    at_eight_paris = dt.datetime(2026, 1, 5, 7, 30, tzinfo=dt.UTC)
    assert [r[1] for r in projshow.window_rows(project, at_eight_paris)] == ["Inactive", "Active"]
