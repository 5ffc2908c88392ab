"""The test bed's extra kwok stage (pure): pods of images marked never-ready stay not ready."""

from __future__ import annotations

import yaml

from tidegate.testenv import kwokstages


def test_the_never_ready_kwok_stage_is_added_once() -> None:
    defaults = (
        "kind: Stage\nmetadata: {name: pod-ready}\nspec:\n  selector:\n"
        "    matchExpressions: [{key: .status.phase, operator: In, values: [Pending]}]\n"
    )
    added = kwokstages.with_never_ready(defaults)
    assert kwokstages.has_never_ready(added) and not kwokstages.has_never_ready(defaults)
    assert kwokstages.with_never_ready(added) == added
    ready = next(yaml.safe_load_all(added))
    assert ready["spec"]["selector"]["matchExpressions"][-1] == {
        "key": kwokstages.IMAGE_QUERY,
        "operator": "NotIn",
        "values": ["true"],
    }
