from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tidegate.model import constants, enums, errors
from tidegate.sync import options, resource_meta

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/options.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_parse(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.SpecError) as info:
            options.parse(case["items"], source="Application shop/web")
        assert case["error"] in str(info.value)
        assert "Application shop/web" in str(info.value)
        return
    parsed = options.parse(case["items"], source="test")
    assert parsed == options.SyncOptions(**case["expected"])


def test_resource_annotation_overrides_app_options() -> None:
    app = options.parse(["ServerSideApply=true", "PruneLast=true"], source="app")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {
        constants.ANNOTATION_SYNC_OPTIONS: "ServerSideApply=false,Prune=false"}}}  # fmt: skip
    merged = app.overridden_by(resource_meta.resource_options(obj))
    assert merged.enabled("server_side_apply") is False
    assert merged.enabled("prune_last") is True
    assert merged.prune_disabled
    assert merged.enabled("validate") is True  # documented default
    assert merged.propagation_policy == "foreground"


def _annotated(**notes: str) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "namespace": "ns", "annotations": notes}}  # fmt: skip


H = enums.HookType
D = resource_meta.DeletePolicy


@pytest.mark.parametrize(
    ("notes", "hooks", "policies", "wave"),
    [
        ({}, set(), {D.BEFORE_HOOK_CREATION}, 0),
        ({"argocd.argoproj.io/hook": "PreSync,PostSync"}, {H.PRE_SYNC, H.POST_SYNC},
         {D.BEFORE_HOOK_CREATION}, 0),
        ({"argocd.argoproj.io/hook": "Sync", "argocd.argoproj.io/hook-delete-policy":
          "HookSucceeded,HookFailed", "argocd.argoproj.io/sync-wave": "-3"}, {H.SYNC},
         {D.HOOK_SUCCEEDED, D.HOOK_FAILED}, -3),
        ({"helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-weight": "5",
          "helm.sh/hook-delete-policy": "hook-succeeded"}, {H.PRE_SYNC}, {D.HOOK_SUCCEEDED}, 5),
        ({"helm.sh/hook": "post-install"}, {H.POST_SYNC}, {D.BEFORE_HOOK_CREATION}, 0),
        ({"helm.sh/hook": "crd-install"}, set(), {D.BEFORE_HOOK_CREATION}, 0),
        ({"helm.sh/hook": "test"}, {H.SKIP}, {D.BEFORE_HOOK_CREATION}, 0),
        ({"argocd.argoproj.io/hook": "PostSync", "helm.sh/hook": "pre-install"}, {H.POST_SYNC},
         {D.BEFORE_HOOK_CREATION}, 0),
        ({"argocd.argoproj.io/sync-wave": "2", "helm.sh/hook-weight": "9"}, set(),
         {D.BEFORE_HOOK_CREATION}, 2),
    ],
)  # fmt: skip
def test_hook_annotations(
    notes: dict[str, str], hooks: set[Any], policies: set[Any], wave: int
) -> None:
    obj = _annotated(**notes)
    assert resource_meta.hook_types(obj) == hooks
    assert resource_meta.delete_policies(obj) == policies
    assert resource_meta.sync_wave(obj) == wave


@pytest.mark.parametrize(
    ("notes", "message"),
    [
        ({"argocd.argoproj.io/sync-wave": "first"}, "Job.batch ns/j: annotation "
         "argocd.argoproj.io/sync-wave must be an integer, not 'first'"),
        ({"argocd.argoproj.io/hook": "PreSync,Later"}, "Job.batch ns/j: unknown hook type 'Later'"),
        ({"argocd.argoproj.io/hook-delete-policy": "Never"}, "unknown hook delete policy 'Never'"),
        ({"helm.sh/hook": "pre-anything"}, "unknown Helm hook 'pre-anything'"),
        ({"argocd.argoproj.io/sync-options": "Prune=never"}, "Job.batch ns/j: sync option Prune"),
    ],
)  # fmt: skip
def test_bad_annotations_name_the_object(notes: dict[str, str], message: str) -> None:
    obj = _annotated(**notes)
    with pytest.raises(errors.SpecError) as info:
        resource_meta.hook_types(obj)
        resource_meta.delete_policies(obj)
        resource_meta.sync_wave(obj)
        resource_meta.resource_options(obj)
    assert message in str(info.value)
