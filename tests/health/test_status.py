"""Aggregation of resource health into application health, in Argo CD's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.health import status
from tidegate.model.enums import HealthStatusCode as H

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "aggregate" / "cases.yaml").read_text()
)


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(map(str, c["statuses"])) or "none")
def test_aggregate_codes(case: dict[str, Any]) -> None:
    codes = [None if s is None else H(s) for s in case["statuses"]]
    assert status.aggregate(codes) is H(case["expected"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(map(str, c["statuses"])) or "none")
def test_aggregate_health_statuses(case: dict[str, Any]) -> None:
    items = [None if s is None else status.HealthStatus(H(s), "m") for s in case["statuses"]]
    assert status.aggregate(items) is H(case["expected"])


def test_order_is_argo_cds() -> None:
    assert [c.value for c in status.ORDER] == [
        "Healthy",
        "Suspended",
        "Progressing",
        "Missing",
        "Degraded",
        "Unknown",
    ]
    assert set(status.ORDER) == set(H)


def test_is_worse() -> None:
    assert status.is_worse(H.HEALTHY, H.DEGRADED)
    assert not status.is_worse(H.DEGRADED, H.MISSING)
    assert not status.is_worse(H.PROGRESSING, H.PROGRESSING)


def test_to_dict_omits_empty_message() -> None:
    assert status.HealthStatus(H.HEALTHY).to_dict() == {"status": "Healthy"}
    assert status.degraded("boom").to_dict() == {"status": "Degraded", "message": "boom"}
