"""Invalid objects: SpecError names the object and each field path (table in testdata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import application, appset, errors, project

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "testdata" / "invalid.yaml").read_text()
)
PARSERS = {
    "Application": application.parse_application,
    "ApplicationSet": appset.parse_applicationset,
    "AppProject": project.parse_project,
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_invalid_object(case: dict[str, Any]) -> None:
    parse = PARSERS[case.get("kind", "Application")]
    with pytest.raises(errors.SpecError) as caught:
        parse(case["object"])
    assert str(caught.value) == case["error"]
    assert isinstance(caught.value, errors.PermanentError)
