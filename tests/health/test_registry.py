"""Custom checks: precedence over built-ins, wildcards, argocd-cm keys, failures as data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from tidegate.health import registry
from tidegate.health import status as hs
from tidegate.model import errors
from tidegate.model.enums import HealthStatusCode as H

PENDING_PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "status": {"phase": "Ready"}}


def test_custom_callable_overrides_builtin() -> None:
    # WaitForFirstConsumer volumes stay Pending until a pod uses them: a common override.
    checks = registry.HealthChecks(custom={"PersistentVolumeClaim": lambda _: hs.healthy("ok")})
    assert checks.assess(PENDING_PVC) == hs.healthy("ok")
    assert registry.assess(PENDING_PVC) == hs.progressing()


def test_custom_none_defers_to_builtin() -> None:
    checks = registry.HealthChecks(custom={"PersistentVolumeClaim": lambda _: None})
    result = checks.assess(PENDING_PVC)
    assert result is not None and result.status is H.PROGRESSING


def test_kind_without_check_has_no_health() -> None:
    assert registry.assess(WIDGET) is None
    assert not registry.HealthChecks().has_check("example.com", "Widget")


def test_wildcards_and_exact_precedence() -> None:
    checks = registry.HealthChecks(
        custom={
            "*.com/*": lambda _: hs.suspended("wildcard"),
            "example.com/Widget": lambda _: hs.healthy("exact"),
        }
    )
    assert checks.assess(WIDGET) == hs.healthy("exact")
    gadget = {**WIDGET, "kind": "Gadget"}
    assert checks.assess(gadget) == hs.suspended("wildcard")
    assert checks.has_check("example.com", "Gadget")


def test_failing_custom_check_is_unknown_not_an_exception() -> None:
    def broken(obj: Mapping[str, Any]) -> hs.HealthStatus:
        raise KeyError("status")

    result = registry.HealthChecks(custom={"example.com/Widget": broken}).assess(WIDGET)
    assert result is not None and result.status is H.UNKNOWN
    assert "example.com/Widget" in result.message and "KeyError" in result.message


def test_builtin_can_be_disabled() -> None:
    assert registry.HealthChecks(builtin=False).assess(PENDING_PVC) is None


def test_deleting_objects_are_progressing_even_without_a_check() -> None:
    deleting = {**WIDGET, "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert registry.assess(deleting) == hs.progressing("Pending deletion")


def test_from_argocd_cm_reads_declarative_rules() -> None:
    data = {
        "resource.customizations.health.example.com_Widget": (
            "rules:\n- when: {path: status.phase, equals: Ready}\n  status: Healthy\n"
            "default: {status: Progressing}\n"
        ),
        "resource.customizations.health.PersistentVolumeClaim": "default: {status: Healthy}\n",
        "resource.exclusions": "- kinds: [Event]\n",
    }
    checks = registry.HealthChecks.from_argocd_cm(data)
    assert checks.assess(WIDGET) == hs.healthy()
    assert checks.assess(PENDING_PVC) == hs.healthy()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("rules: [unclosed\n", "invalid YAML"),
        ("rules: []\n", "at least one rule or a default is required"),
        ("hs = {\nreturn hs\n", "Lua script resource.customizations.health.example.com_Widget"),
    ],
)
def test_from_argocd_cm_reports_bad_entries(value: str, error: str) -> None:
    """A bad entry is a problem naming the key; a Lua script that does not compile still
    judges its kind (Unknown with the error), as in Argo CD."""
    key = "resource.customizations.health.example.com_Widget"
    checks = registry.HealthChecks.from_argocd_cm({key: value})
    assert len(checks.problems) == 1
    assert error in checks.problems[0] and "Widget" in checks.problems[0]
    found = checks.assess(WIDGET)
    if value.startswith("hs"):
        assert (
            found is not None
            and found.status is H.UNKNOWN
            and "line 2: unexpected symbol near 'return'" in found.message
        )
    else:
        assert found is None


@pytest.mark.parametrize("key", ["", "example.com/", "/"])
def test_bad_keys_are_rejected(key: str) -> None:
    with pytest.raises(errors.ConfigError):
        registry.HealthChecks(custom={key: lambda _: None})


def test_non_callable_check_is_rejected() -> None:
    with pytest.raises(errors.ConfigError, match="expected a callable or rules"):
        registry.HealthChecks().register("example.com/Widget", 42)  # type: ignore[arg-type]
