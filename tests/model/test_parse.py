"""Parsing and dumping the declarative kinds: exact round trips, typed access, speed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import application, appset, base, errors, project
from tidegate.model.enums import (
    HealthStatusCode,
    HookType,
    OperationPhase,
    ResultCode,
    SyncStatusCode,
)

VALID = Path(__file__).parent / "testdata" / "valid"
PARSERS = {
    "Application": application.parse_application,
    "ApplicationSet": appset.parse_applicationset,
    "AppProject": project.parse_project,
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((VALID / name).read_text())
    return data


@pytest.mark.parametrize("name", sorted(p.name for p in VALID.glob("*.yaml")))
def test_round_trip_is_exact(name: str) -> None:
    raw = _load(name)
    pristine = copy.deepcopy(raw)
    parsed = PARSERS[raw["kind"]](raw)
    assert base.dump(parsed) == pristine
    assert raw == pristine  # parsing does not touch its input


def test_seed_application() -> None:
    app = application.parse_application(_load("application-seed.yaml"))
    assert (app.name, app.namespace) == ("myapp", "argocd")
    assert app.spec.project == "default"
    assert app.spec.source is not None
    assert app.spec.source.repo_url == "https://github.com/org/repo"
    assert app.spec.source.revision == "main"
    assert app.spec.destination.server == "https://kubernetes.default.svc"
    assert app.spec.destination.namespace == "production"
    assert app.spec.sync_policy is not None and app.spec.sync_policy.automated is not None
    assert app.spec.sync_policy.automated.prune is True
    assert app.spec.sync_policy.automated.self_heal is True
    assert app.spec.sync_policy.sync_options == ["CreateNamespace=true"]
    assert not app.spec.has_multiple_sources
    assert app.spec.all_sources() == [app.spec.source]
    assert app.status is None and app.operation is None


def test_seed_applicationset() -> None:
    appset_ = appset.parse_applicationset(_load("applicationset-seed.yaml"))
    (generator,) = appset_.spec.generators
    assert generator.kinds() == ["clusters"]
    assert generator.clusters is not None and generator.clusters.selector is not None
    assert generator.clusters.selector.match_labels == {"environment": "production"}
    assert appset_.spec.template.metadata.name == "{{name}}-myapp"
    assert appset_.spec.template.spec is not None
    assert appset_.spec.template.spec.destination.server == "{{server}}"


def test_full_application_status_is_typed() -> None:
    app = application.parse_application(_load("application-full.yaml"))
    status = app.status
    assert status is not None and status.sync is not None and status.health is not None
    assert status.sync.status is SyncStatusCode.OUT_OF_SYNC
    assert status.health.status is HealthStatusCode.PROGRESSING
    state = status.operation_state
    assert state is not None and state.phase is OperationPhase.RUNNING
    assert not state.phase.completed
    assert state.sync_result is not None and state.sync_result.resources is not None
    hook = state.sync_result.resources[1]
    assert (hook.hook_type, hook.hook_phase) == (HookType.PRE_SYNC, OperationPhase.SUCCEEDED)
    assert state.sync_result.resources[2].status is ResultCode.PRUNED
    assert status.history is not None and status.history[0].id == 0
    assert status.resources is not None and status.resources[1].requires_pruning is True
    assert status.summary is not None and status.summary.external_urls == ["https://gb.example.com"]
    helm = app.spec.source.helm if app.spec.source else None
    assert helm is not None and helm.parameters is not None
    assert helm.parameters[1].force_string is True
    assert helm.values_object == {"ingress": {"enabled": True, "hosts": ["gb.example.com"]}}
    assert app.spec.destination.name == "prod-eu"
    retry = app.spec.sync_policy.retry if app.spec.sync_policy else None
    assert retry is not None and retry.backoff is not None and retry.backoff.max_duration == "3m"
    assert app.operation is not None and app.operation.sync is not None
    assert app.operation.sync.resources is not None
    assert app.operation.sync.resources[0].kind == "Deployment"


def test_multisource_application() -> None:
    app = application.parse_application(_load("application-multisource.yaml"))
    assert app.spec.has_multiple_sources
    sources = app.spec.all_sources()
    assert [s.ref for s in sources] == [None, "values", None, None]
    assert sources[0].revision == "25.0.0"
    assert sources[2].directory is not None and sources[2].directory.jsonnet is not None
    assert sources[3].kustomize is not None and sources[3].kustomize.replicas is not None
    assert sources[3].kustomize.replicas[0].count == 3
    assert sources[2].revision == "HEAD"


def test_unknown_fields_are_kept_as_extras() -> None:
    app = application.parse_application(_load("application-unknown-fields.yaml"))
    assert app.spec.model_extra == {"somethingNew": [1, 2, 3]}
    assert app.spec.source is not None
    assert app.spec.source.model_extra == {"futureRendererOption": {"depth": 3}}


def test_project() -> None:
    proj = project.parse_project(_load("appproject-full.yaml"))
    assert proj.spec.sync_windows is not None
    assert [w.kind.value for w in proj.spec.sync_windows] == ["deny", "allow"]
    assert proj.spec.sync_windows[0].time_zone == "Europe/Paris"
    assert proj.spec.signature_keys is not None
    assert proj.spec.signature_keys[0].key_id == "4AEE18F83AFDEB23"
    assert proj.spec.cluster_resource_whitelist is not None
    assert proj.spec.cluster_resource_whitelist[0].group == ""


def test_appset_generators_and_strategy() -> None:
    fleet = appset.parse_applicationset(_load("applicationset-full.yaml"))
    kinds = [g.kinds() for g in fleet.spec.generators]
    assert kinds == [["matrix"], ["merge"], ["git"], ["scmProvider"]]
    matrix = fleet.spec.generators[0].matrix
    assert matrix is not None and matrix.generators[0].git is not None
    assert matrix.generators[0].git.directories is not None
    assert matrix.generators[0].git.directories[1].exclude is True
    assert fleet.spec.generators[1].selector is not None
    strategy = fleet.spec.strategy
    assert strategy is not None and strategy.rolling_sync is not None
    assert strategy.rolling_sync.steps is not None
    assert strategy.rolling_sync.steps[1].max_update == "25%"


def test_built_in_python_dumps_like_the_wire() -> None:
    app = application.Application(
        metadata=base.ObjectMeta(name="a", namespace="argocd"),
        spec=application.ApplicationSpec(
            project="default",
            source=application.ApplicationSource(repo_url="https://g/r", path="p"),
            destination=application.Destination(server="https://kubernetes.default.svc"),
        ),
    )
    assert base.dump(app) == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://g/r", "path": "p"},
            "destination": {"server": "https://kubernetes.default.svc"},
        },
    }


def test_errors_do_not_echo_values() -> None:
    raw = _load("application-seed.yaml")
    raw["spec"]["source"]["helm"] = {"values": {"password": "hunter2"}}
    with pytest.raises(errors.SpecError) as caught:
        application.parse_application(raw)
    assert "spec.source.helm.values" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_not_a_mapping() -> None:
    with pytest.raises(errors.SpecError, match="Application: expected a mapping, got list"):
        application.parse_application([])  # type: ignore[arg-type]
