"""Declarative health rules: evaluation table over testdata/rules/, and rejection of bad rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.health import registry, rules
from tidegate.model import errors
from tidegate.model.enums import HealthStatusCode as H

RULES_DIR = Path(__file__).parent / "testdata" / "rules"
CERT: dict[str, Any] = yaml.safe_load((RULES_DIR / "certificate.yaml").read_text())
INVALID: list[dict[str, Any]] = yaml.safe_load((RULES_DIR / "invalid.yaml").read_text())


@pytest.mark.parametrize("case", CERT["cases"], ids=lambda c: c["name"])
def test_rules_judge_objects(case: dict[str, Any]) -> None:
    checks = registry.HealthChecks(custom={CERT["key"]: CERT["rules"]})
    result = checks.assess(case["object"])
    assert result is not None
    assert result.status is H(case["status"])
    assert result.message == case["message"]


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c["error"])
def test_invalid_rules_are_rejected_with_the_field(case: dict[str, Any]) -> None:
    with pytest.raises(errors.ConfigError) as caught:
        rules.parse_rules(case["rules"], name="example.com/Widget")
    assert case["error"] in str(caught.value)
    assert str(caught.value).startswith("health rules for example.com/Widget: ")


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("status.phase", ("status", "phase")),
        (
            "status.conditions[type=Ready].status",
            ("status", "conditions", ("type", "Ready"), "status"),
        ),
        ("spec.containers[0].image", ("spec", "containers", 0, "image")),
        (
            'metadata.labels["app.kubernetes.io/name"]',
            ("metadata", "labels", "app.kubernetes.io/name"),
        ),
    ],
)
def test_parse_path(path: str, steps: tuple[Any, ...]) -> None:
    assert rules.parse_path(path) == steps


def test_equals_path_compares_two_fields() -> None:
    check = rules.parse_rules(
        {
            "rules": [
                {
                    "when": {"path": "status.readyReplicas", "equalsPath": "spec.replicas"},
                    "status": "Healthy",
                }
            ],
            "default": {"status": "Progressing", "messageFrom": "status.readyReplicas"},
        },
        name="example.com/Widget",
    )
    ready = check({"spec": {"replicas": 2}, "status": {"readyReplicas": 2}})
    waiting = check({"spec": {"replicas": 2}, "status": {"readyReplicas": 1}})
    absent = check({"spec": {}, "status": {}})
    assert ready is not None and ready.status is H.HEALTHY
    assert waiting is not None and (waiting.status, waiting.message) == (H.PROGRESSING, "1")
    assert absent is not None and (absent.status, absent.message) == (H.PROGRESSING, "")


def test_no_match_without_default_defers() -> None:
    check = rules.parse_rules(
        {"rules": [{"when": {"path": "status.phase", "equals": "Ready"}, "status": "Healthy"}]},
        name="x/Y",
    )
    assert check({"status": {"phase": "Pending"}}) is None
