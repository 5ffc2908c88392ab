"""Tracking metadata stamped before sending, and what counts as tracked (pure helpers)."""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import pytest
import yaml

from tidegate.model import keys
from tidegate.sync import prepare

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/tracking_stamp.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_with_tracking(case: dict[str, Any]) -> None:
    original = copy.deepcopy(case["obj"])
    ours = case.get("installation_id", "")
    method = case["method"]
    stamped = prepare.with_tracking(
        case["obj"], app_name="web", method=method, installation_id=ours
    )
    assert case["obj"] == original  # never modified in place
    if case.get("same"):
        assert stamped is case["obj"]
    meta = stamped["metadata"]
    for field in ("annotations", "labels"):
        if field in case:
            assert meta.get(field) == case[field]
    assert prepare.is_tracked_by(stamped, app_name="web", method=method, installation_id=ours)
    assert not prepare.is_tracked_by(stamped, app_name="other", method=method, installation_id=ours)
    # The same app name under another installation id (or none) is another installation's.
    for theirs in {"", "b"} - {ours}:
        assert not prepare.is_tracked_by(
            stamped, app_name="web", method=method, installation_id=theirs
        )
    assert prepare.has_tracking(stamped)


def test_a_copied_manifest_is_not_tracked() -> None:
    copied = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "copy", "namespace": "shop",
                           "annotations": {"argocd.argoproj.io/tracking-id":
                                           "web:/ConfigMap:shop/original"}}}  # fmt: skip
    assert not prepare.is_tracked_by(copied, app_name="web", method="annotation")
    assert not prepare.has_tracking({"metadata": {"name": "x"}})


def test_generate_name_targets_are_keyed_by_their_generate_name() -> None:
    obj = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"generateName": "migrate-", "namespace": "shop"}}  # fmt: skip
    assert prepare.target_key(obj) == keys.ResourceKey("batch", "Job", "shop", "migrate-")
