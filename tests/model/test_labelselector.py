"""Label selectors in string form, evaluated in memory as the API server would."""

from __future__ import annotations

import pytest

from tidegate.model import errors, labelselector

LABELS = {"app": "web", "tier": "front", "rollout-type": "Step"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app=web", True),
        ("app==web", True),
        ("app=api", False),
        ("app!=api", True),
        ("app!=web", False),
        ("missing!=x", True),
        ("tier in (front, back)", True),
        ("tier in (back)", False),
        ("tier notin (back)", True),
        ("tier notin (front)", False),
        ("missing notin (x)", True),
        ("rollout-type,!argo-rollouts.argoproj.io/controller-instance-id", True),
        ("rollout-type,argo-rollouts.argoproj.io/controller-instance-id=e2e", False),
    ],
)
def test_selector_matches_like_the_api_server(selector: str, expected: bool) -> None:
    obj = {"metadata": {"labels": LABELS}}
    assert labelselector.matches(labelselector.parse(selector), obj) is expected


def test_an_object_without_labels_matches_only_absence() -> None:
    bare = {"metadata": {"name": "x"}}
    assert labelselector.matches(labelselector.parse("!app"), bare)
    assert not labelselector.matches(labelselector.parse("app"), bare)


@pytest.mark.parametrize("selector", ["app=(x", "!app=web", "tier in x", "a b"])
def test_a_malformed_selector_is_refused_when_parsed(selector: str) -> None:
    with pytest.raises(errors.SpecError, match="label selector"):
        labelselector.parse(selector)
