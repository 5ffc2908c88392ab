from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tidegate.sync import tasks

from . import helpers

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/order.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_build_orders_tasks(case: dict[str, Any]) -> None:
    built = tasks.build(
        helpers.objects(case["targets"]),
        helpers.objects(case["live"]),
        params=helpers.params(case["params"]),
    )
    got = [f"{t.phase}/{t.wave}/{t.action}/{t.key.kind}/{t.key.name}" for t in built]
    assert got == case["expected"]["order"]
    assert not [t.error for t in built if t.error]
