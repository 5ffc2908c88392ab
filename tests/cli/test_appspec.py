"""Pure logic of ``tidegate app``: flags -> specs and operations, status reading. Table-driven
over ``testdata/*.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.cli import app_show, app_state, appspec
from tidegate.model import application, errors

DATA = Path(__file__).parent / "testdata"


def _table(file: str, section: str | None = None) -> list[Any]:
    doc = yaml.safe_load((DATA / file).read_text())
    rows = doc if section is None else doc[section]
    return [pytest.param(row, id=row["name"]) for row in rows]


def _tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


@pytest.mark.parametrize("case", _table("spec_flags.yaml"))
def test_apply_flags(case: dict[str, Any]) -> None:
    flags = appspec.SpecFlags(**_tuples(case["flags"]))
    before = yaml.safe_dump(case["spec"])
    if "error" in case:
        with pytest.raises(appspec.FlagError) as info:
            appspec.apply_flags(case["spec"], flags)
        assert str(info.value) == case["error"]
    else:
        assert appspec.apply_flags(case["spec"], flags) == case["want"]
    assert yaml.safe_dump(case["spec"]) == before  # the input is never modified


@pytest.mark.parametrize("case", _table("operations.yaml", "sync"))
def test_sync_operation(case: dict[str, Any]) -> None:
    fields = _tuples(case["request"])
    fields["resources"] = case["request"].get("resources")  # a list, not a tuple
    request = appspec.SyncRequest(**fields)
    if "error" in case:
        with pytest.raises(appspec.FlagError) as info:
            appspec.sync_operation(case["spec"], request)
        assert str(info.value) == case["error"]
    else:
        assert appspec.sync_operation(case["spec"], request) == case["want"]


@pytest.mark.parametrize("case", _table("operations.yaml", "resources"))
def test_select_resources(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(appspec.FlagError) as info:
            appspec.select_resources(case["values"], case["app"])
        assert str(info.value) == case["error"]
    else:
        assert appspec.select_resources(case["values"], case["app"]) == case["want"]


@pytest.mark.parametrize("case", _table("operations.yaml", "merge_patch"))
def test_merge_patch(case: dict[str, Any]) -> None:
    assert appspec.merge_patch(case["old"], case["new"]) == case["want"]


@pytest.mark.parametrize("case", _table("operations.yaml", "rollback"))
def test_rollback_operation(case: dict[str, Any]) -> None:
    got = appspec.rollback_operation(
        case["entry"], prune=case["prune"], dry_run=False, username="alice"
    )
    assert got == case["want"]


@pytest.mark.parametrize("case", _table("state.yaml", "wait"))
def test_wait_conditions(case: dict[str, Any]) -> None:
    wanted = app_state.WaitFor(**case["want_flags"])
    filters = app_state.wait_resources(case.get("resources") or [])
    assert app_state.unmet(case["app"], wanted, resources=filters) == case["missing"]


@pytest.mark.parametrize("case", _table("state.yaml", "rollback"))
def test_rollback_entry(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.ConfigError) as info:
            app_state.rollback_entry(case["app"], case["id"])
        assert str(info.value) == case["error"]
    else:
        assert app_state.rollback_entry(case["app"], case["id"]) == case["want"]


@pytest.mark.parametrize("case", _table("state.yaml", "finished"))
def test_operation_finished(case: dict[str, Any]) -> None:
    assert app_state.operation_finished(case["app"], case["before"]) == case["want"]


def test_new_application_from_flags_is_valid() -> None:
    flags = appspec.SpecFlags(
        repo="https://git.example.com/r.git",
        path="guestbook",
        dest_server="https://kubernetes.default.svc",
        dest_namespace="web",
        sync_policy="automated",
        auto_prune=True,
        sync_options=("CreateNamespace=true",),
    )
    obj = appspec.new_application(
        "guestbook", "argocd", flags, labels=["team=web"], set_finalizer=True
    )
    assert obj == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": "guestbook",
            "namespace": "argocd",
            "labels": {"team": "web"},
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "source": {"repoURL": "https://git.example.com/r.git", "path": "guestbook"},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }
    application.parse_application(obj)


def test_new_application_from_a_manifest() -> None:
    seed = yaml.safe_load(
        (Path(__file__).parents[1] / "model/testdata/valid/application-seed.yaml").read_text()
    )
    # The file's namespace wins over -n; flags override the file; the file is not modified.
    obj = appspec.new_application("", "other", appspec.SpecFlags(revision="v2"), base=seed)
    assert obj["metadata"] == {"name": "myapp", "namespace": "argocd"}
    assert obj["spec"]["source"]["targetRevision"] == "v2"
    assert seed["spec"]["source"]["targetRevision"] == "main"
    del seed["metadata"]["namespace"]
    renamed = appspec.new_application("renamed", "other", appspec.SpecFlags(), base=seed)
    assert renamed["metadata"] == {"name": "renamed", "namespace": "other"}


@pytest.mark.parametrize(
    ("arg", "want"),
    [("web", ("argocd", "web")), ("team/web", ("team", "web"))],
)
def test_split_name(arg: str, want: tuple[str, str]) -> None:
    assert appspec.split_name(arg, "argocd") == want


@pytest.mark.parametrize("arg", ["/web", "team/", "a/b/c"])
def test_split_name_rejects(arg: str) -> None:
    with pytest.raises(appspec.FlagError):
        appspec.split_name(arg, "argocd")


def test_summary_and_rows() -> None:
    app = yaml.safe_load(
        (Path(__file__).parents[1] / "model/testdata/valid/application-full.yaml").read_text()
    )
    lines = dict(app_show.summary(app))
    assert lines["Name"] == "argocd/guestbook"
    assert lines["Server"] == "prod-eu"
    assert lines["Sync Policy"] == "Automated (Prune, Self Heal)"
    assert lines["Sync Status"] == "OutOfSync from 1.2.3 (1.2.3)"
    assert lines["Health Status"] == "Progressing (waiting for rollout)"
    row = app_show.list_row(app, wide=False)
    assert row[0] == "argocd/guestbook"
    assert row[6] == "Auto-Prune"
    for resource_row in app_state.resource_rows(app):
        assert len(resource_row) == len(app_show.RESOURCE_HEADERS)


def test_helm_chart_flags_make_a_repository_chart_source() -> None:
    helm = appspec.HelmFlags(
        chart="demo",
        set_file=("config=files/app.conf",),
        values_literal="greeting: hi\n",
        skip_crds=True,
        skip_schema_validation=True,
        api_versions=("monitoring.coreos.com/v1",),
        kube_version="1.31.0",
        namespace="other",
        pass_credentials=True,
        ignore_missing_value_files=True,
    )
    flags = appspec.SpecFlags(
        repo="https://charts.example.com",
        revision="^1.2",
        dest_server="https://kubernetes.default.svc",
        dest_namespace="web",
        helm=helm,
    )
    obj = appspec.new_application("web", "argocd", flags)
    assert obj["spec"]["source"] == {
        "repoURL": "https://charts.example.com",
        "targetRevision": "^1.2",
        "chart": "demo",
        "helm": {
            "values": "greeting: hi\n",
            "skipCrds": True,
            "skipSchemaValidation": True,
            "kubeVersion": "1.31.0",
            "namespace": "other",
            "passCredentials": True,
            "ignoreMissingValueFiles": True,
            "apiVersions": ["monitoring.coreos.com/v1"],
            "fileParameters": [{"name": "config", "path": "files/app.conf"}],
        },
    }
    application.Application.model_validate(obj)
    # `app set --helm-chart` on a path source drops the path; other helm fields stay.
    changed = appspec.apply_flags(
        {"source": {"repoURL": "r", "path": "p", "helm": {"releaseName": "x"}}},
        appspec.SpecFlags(helm=appspec.HelmFlags(chart="c", skip_crds=False)),
    )
    assert changed["source"] == {
        "repoURL": "r",
        "chart": "c",
        "helm": {"releaseName": "x", "skipCrds": False},
    }
    with pytest.raises(appspec.FlagError, match="--helm-set-file"):
        appspec.apply_flags({}, appspec.SpecFlags(helm=appspec.HelmFlags(set_file=("nokey",))))


def test_jsonnet_flags_add_or_replace_by_name_and_append_libs() -> None:
    flags = appspec.SpecFlags(
        repo="https://git.example.com/org/repo",
        path="apps/jn",
        dest_server="https://kubernetes.default.svc",
        dest_namespace="web",
        jsonnet_tla_str=("name=web",),
        jsonnet_tla_code=("replicas=1 + 2",),
        jsonnet_ext_var_str=("env=dev",),
        jsonnet_ext_var_code=("tier={a: 1}",),
        jsonnet_libs=("vendor",),
    )
    obj = appspec.new_application("jn", "argocd", flags)
    assert obj["spec"]["source"]["directory"]["jsonnet"] == {
        "tlas": [
            {"name": "name", "value": "web", "code": False},
            {"name": "replicas", "value": "1 + 2", "code": True},
        ],
        "extVars": [
            {"name": "env", "value": "dev", "code": False},
            {"name": "tier", "value": "{a: 1}", "code": True},
        ],
        "libs": ["vendor"],
    }
    # app set: a TLA given again replaces the one of that name; a lib already there stays once.
    again = appspec.SpecFlags(jsonnet_tla_code=("name='api'",), jsonnet_libs=("vendor", "lib"))
    spec = appspec.apply_flags(obj["spec"], again)
    jsonnet = spec["source"]["directory"]["jsonnet"]
    assert jsonnet["tlas"][0] == {"name": "name", "value": "'api'", "code": True}
    assert len(jsonnet["tlas"]) == 2
    assert jsonnet["libs"] == ["vendor", "lib"]
    assert application.parse_application({**obj, "spec": spec}).spec.source is not None


def test_a_jsonnet_flag_without_a_value_is_refused() -> None:
    flags = appspec.SpecFlags(repo="r", path="p", jsonnet_tla_str=("novalue",))
    with pytest.raises(appspec.FlagError, match="--jsonnet-tla-str"):
        appspec.new_application("jn", "argocd", flags)
