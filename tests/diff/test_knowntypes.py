"""argocd-cm knownTypeFields: resource quantities in embedded built-in types, canonical form."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.controller import argocdcm
from tidegate.diff import compare, knowntypes

CANONICAL = [
    ("1000m", "1"),
    ("1", "1"),
    (1, "1"),
    ("1.5", "1500m"),
    (0.5, "500m"),
    ("100m", "100m"),
    ("0.1", "100m"),
    ("1000", "1k"),
    ("1500000", "1500k"),
    ("2000000000", "2G"),
    ("1Gi", "1Gi"),
    ("1024Mi", "1Gi"),
    ("1.5Gi", "1536Mi"),
    ("0.5Ki", "512"),
    ("1073741824", "1073741824"),  # decimal stays decimal, as in Kubernetes
    ("1025", "1025"),
    ("1e3", "1e3"),
    ("1000e3", "1e6"),
    ("1.5e3", "1500"),
    ("0", "0"),
    ("0m", "0"),
    ("-1500m", "-1500m"),
    ("+2k", "2k"),
    ("0.1n", "1n"),  # below nano precision rounds up
    ("1500n", "1500n"),
    ("1000n", "1u"),
    ("12Mi", "12Mi"),
    ("1024Ei", "1024Ei"),
    ("5000E", "5000E"),
    # not quantities: left alone
    ("lots", "lots"),
    ("1X", "1X"),
    ("", ""),
    (True, True),
    (None, None),
]


@pytest.mark.parametrize(("value", "expected"), CANONICAL)
def test_canonical_quantity(value: Any, expected: Any) -> None:
    assert knowntypes.canonical_quantity(value) == expected


def _rollout(cpu: Any, memory: Any, *, overhead: Any = "250m") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "overhead": {"cpu": overhead},
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx",
                            "resources": {"limits": {"cpu": cpu, "memory": memory}},
                        }
                    ],
                }
            },
        },
    }


KNOWN = "resource.customizations.knownTypeFields.argoproj.io_Rollout"
POD_SPEC = "- field: spec.template.spec\n  type: core/v1/PodSpec\n"


def test_equal_quantities_differ_without_known_type_fields() -> None:
    result = compare.compare(_rollout("1000m", "1024Mi"), _rollout("1", "1Gi"))
    assert result.modified
    assert "1000m" in result.diff_text


@pytest.mark.parametrize(
    "data",
    [
        {KNOWN: POD_SPEC},
        {
            "resource.customizations": "argoproj.io/Rollout:\n  knownTypeFields:\n"
            "  - field: spec.template.spec\n    type: core/v1/PodSpec\n"
        },
    ],
)
def test_known_type_fields_compare_quantities_canonically(data: dict[str, str]) -> None:
    system = argocdcm.parse(data)
    assert system.problems == ()
    rules = system.ignore_rules
    same = compare.compare(
        _rollout("1000m", "1024Mi", overhead=0.25), _rollout(1, "1Gi"), ignore_rules=rules
    )
    assert not same.modified
    other = compare.compare(_rollout("1500m", "1Gi"), _rollout("1", "1Gi"), ignore_rules=rules)
    assert other.modified
    assert "1500m" in other.diff_text  # shown in canonical form


def test_known_type_fields_apply_only_to_the_configured_kind_and_field() -> None:
    rules = argocdcm.parse({KNOWN: "- field: spec.other\n  type: core/v1/PodSpec\n"}).ignore_rules
    assert compare.compare(
        _rollout("1000m", "1Gi"), _rollout("1", "1Gi"), ignore_rules=rules
    ).modified
    deployment = argocdcm.parse(
        {"resource.customizations.knownTypeFields.apps_Deployment": POD_SPEC}
    ).ignore_rules
    assert compare.compare(
        _rollout("1000m", "1Gi"), _rollout("1", "1Gi"), ignore_rules=deployment
    ).modified


def test_fallback_and_server_side_both_normalise() -> None:
    rules = argocdcm.parse({KNOWN: POD_SPEC}).ignore_rules
    predicted = _rollout("1000m", "1Gi")
    result = compare.compare(
        _rollout("1000m", "1Gi"), _rollout("1", "1Gi"), predicted, ignore_rules=rules,
        ignore_mutation_webhook=False,
    )  # fmt: skip
    assert not result.modified


@pytest.mark.parametrize(
    ("entry", "cause"),
    [
        ("- field: spec.template.spec\n  type: core/v1/Nope\n", "type 'core/v1/Nope' is not"),
        ("- field: spec..spec\n  type: core/v1/PodSpec\n", "is not a dotted path"),
        ("- nope\n", "expected a list of {field, type}"),
    ],
)
def test_bad_known_type_fields_name_the_key(entry: str, cause: str) -> None:
    system = argocdcm.parse({KNOWN: entry})
    assert len(system.problems) == 1
    assert system.problems[0].startswith(f"argocd-cm {KNOWN}")
    assert cause in system.problems[0]
    assert system.ignore_rules == argocdcm.WORKLOAD_CONTROLLER_RULES  # only the built-in ones
