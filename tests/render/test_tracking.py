"""Resource tracking: table over testdata/tracking_cases.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from tests.render.conftest import load_table

from tidegate.model import errors
from tidegate.render import request, tracking

CASES = load_table("tracking_cases.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_apply_tracking(case: dict[str, Any]) -> None:
    obj = case["object"]

    def apply() -> None:
        tracking.apply_tracking(
            [obj],
            app_name=case["app"],
            method=request.TrackingMethod(case["method"]),
            installation_id=case.get("installation_id", ""),
        )

    if "error" in case:
        with pytest.raises(errors.TidegateError) as info:
            apply()
        assert case["error"] in str(info.value)
    else:
        apply()
        assert obj == case["expected"]


def test_tracking_id_with_namespace_filled_in_by_caller() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert tracking.tracking_id("app", obj) == "app:apps/Deployment:/web"
    assert tracking.tracking_id("app", obj, namespace="dev") == "app:apps/Deployment:dev/web"
