"""The pure half of the validating dry run: what is checked, what is excused, how it reads."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sync import options, record, resource_meta, tasks, validate


def _crd(group: str, kind: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.lower()}s.{group}"},
        "spec": {"group": group, "names": {"kind": kind}},
    }


def _namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


WIDGET = ResourceKey("example.com", "Widget", "apps", "w")
CM = ResourceKey("", "ConfigMap", "fresh", "settings")
PLANNED = validate.Planned.of(
    [_crd("example.com", "Widget"), _namespace("fresh")], created_namespace="dest"
)
UNKNOWN = errors.UnknownKindError("cluster dev does not serve kind 'Widget'")
NOT_FOUND = errors.KubeNotFoundError('namespaces "x" not found', code=404, reason="NotFound")
IMMUTABLE = errors.KubeApiError("field is immutable", code=422, reason="Invalid")


@pytest.mark.parametrize(
    ("key", "exc", "kw", "excused"),
    [
        (WIDGET, UNKNOWN, {}, "its CustomResourceDefinition is created by this sync"),
        (WIDGET._replace(group="other.io"), UNKNOWN, {}, ""),
        (WIDGET._replace(group="other.io"), UNKNOWN, {"skip_missing_kind": True},
         "SkipDryRunOnMissingResource"),
        (WIDGET._replace(group="other.io"), UNKNOWN, {"hook": True}, "hook's kind"),
        (CM, NOT_FOUND, {}, "namespace fresh is created by this sync"),
        (CM._replace(namespace="dest"), NOT_FOUND, {}, "namespace dest is created by this sync"),
        (CM._replace(namespace="elsewhere"), NOT_FOUND, {}, ""),
        (CM, IMMUTABLE, {}, ""),
        (CM, IMMUTABLE, {"recreated": True}, "recreated (Force=true)"),
    ],
)  # fmt: skip
def test_excuse(key: ResourceKey, exc: errors.KubeError, kw: dict[str, Any], excused: str) -> None:
    found = validate.excuse(key, exc, PLANNED, **kw)
    if excused:
        assert excused in found
    else:
        assert found == ""


def test_planned_from_recorded_results() -> None:
    def result(kind: str, name: str, status: record.ResultCode) -> record.ResourceResult:
        group = "apiextensions.k8s.io" if kind == "CustomResourceDefinition" else ""
        return record.ResourceResult(group, "v1", kind, "", name, status)

    planned = validate.Planned.of_results(
        [
            result("CustomResourceDefinition", "widgets.example.com", record.ResultCode.SYNCED),
            result("Namespace", "made", record.ResultCode.SYNCED),
            result("Namespace", "refused", record.ResultCode.SYNC_FAILED),
        ]
    )
    assert planned == validate.Planned(frozenset({"example.com"}), frozenset({"made"}))


def test_verdicts_exclude_availability_problems() -> None:
    assert validate.is_verdict(IMMUTABLE)
    assert validate.is_verdict(UNKNOWN)
    assert validate.is_verdict(errors.KubeServerError("not declared in schema", code=500))
    assert not validate.is_verdict(errors.KubeServerError("slow down", code=429))
    assert not validate.is_verdict(errors.KubeServerError("unavailable", code=503))
    assert not validate.is_verdict(errors.ClusterUnreachableError("connection refused"))


def _task(key: ResourceKey, phase: resource_meta.SyncPhase, action: tasks.Action,
          *, error: str = "") -> tasks.SyncTask:  # fmt: skip
    target = None if action is tasks.Action.PRUNE else {"kind": key.kind}
    return tasks.SyncTask(key, phase, 0, action, target, None, error=error,
                          sync_options=options.SyncOptions())  # fmt: skip


def test_checked_leaves_out_prunes_syncfail_hooks_and_broken_tasks() -> None:
    sync, pre, fail = (resource_meta.SyncPhase.SYNC, resource_meta.SyncPhase.PRE_SYNC,
                       resource_meta.SyncPhase.SYNC_FAIL)  # fmt: skip
    keep = [
        _task(CM, sync, tasks.Action.CREATE),
        _task(CM._replace(name="hook"), pre, tasks.Action.CREATE),
    ]
    drop = [
        _task(CM._replace(name="gone"), sync, tasks.Action.PRUNE),
        _task(CM._replace(name="on-fail"), fail, tasks.Action.CREATE),
        _task(CM._replace(name="bad"), sync, tasks.Action.APPLY, error="bad annotation"),
    ]
    assert validate.checked(keep + drop) == keep


def test_failure_message_names_every_object_on_its_own_line() -> None:
    deploy = ResourceKey("apps", "Deployment", "apps", "web")
    message = validate.failure_message(
        [
            (deploy, 'dry-run apply Deployment.apps apps/web on cluster dev: .spec.replicaz: '
                     'field not declared in schema (InternalError 500)'),
            (WIDGET, "cluster dev does not serve kind 'Widget' in API 'example.com'"),
        ]
    )  # fmt: skip
    assert message.splitlines() == [
        "one or more objects failed to apply (dry run), nothing was applied:",
        "- Deployment.apps apps/web: .spec.replicaz: field not declared in schema "
        "(InternalError 500)",
        "- Widget.example.com apps/w: cluster dev does not serve kind 'Widget' in API "
        "'example.com'",
    ]
