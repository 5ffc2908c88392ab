"""Tracking methods: which app an object belongs to."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.live import tracking
from tidegate.model import constants

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "tracking.yaml").read_text()
)
METHODS = (
    constants.TRACKING_ANNOTATION,
    constants.TRACKING_LABEL,
    constants.TRACKING_ANNOTATION_AND_LABEL,
)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_tracked_app(case: dict[str, Any]) -> None:
    checked = 0
    for method in METHODS:
        if method in case:
            found = tracking.tracked_app(
                case["obj"], method=method, installation_id=case.get("installation_id", "")
            )
            assert found == case[method], method
            checked += 1
    assert checked


def test_parse_tracking_id() -> None:
    app, key = tracking.parse_tracking_id("a:apps/Deployment:ns/web") or ("", None)
    assert app == "a" and key is not None and str(key) == "Deployment.apps ns/web"
    assert tracking.parse_tracking_id("a:Deployment:ns/web") is None
    assert tracking.parse_tracking_id(":/ConfigMap:ns/x") is None


def test_slim_drops_last_applied_and_managed_fields() -> None:
    obj = {
        "metadata": {
            "name": "x",
            "annotations": {constants.ANNOTATION_LAST_APPLIED: "{...}"},
            "managedFields": [{"manager": "m"}],
        }
    }
    kept = tracking.slim(copy.deepcopy(obj), keep_managed_fields=True)
    assert "annotations" not in kept["metadata"] and kept["metadata"]["managedFields"]
    slimmed = tracking.slim(obj, keep_managed_fields=False)
    assert slimmed["metadata"] == {"name": "x"}
