"""The pure parts of controller/app_pods.py: which resources ``app logs`` narrows to, argocd's
line filter and ``--until-time``."""

from __future__ import annotations

import datetime as dt

import pytest

from tidegate.controller import app_pods
from tidegate.model.keys import ResourceKey

RESOURCES = [
    {"group": "apps", "kind": "Deployment", "namespace": "a", "name": "web"},
    {"group": "apps", "kind": "StatefulSet", "namespace": "b", "name": "db"},
    {"kind": "ConfigMap", "namespace": "a", "name": "web"},
]


@pytest.mark.parametrize(
    ("sel", "want"),
    [
        (app_pods.Selector(), {("apps", "Deployment", "a", "web"),
                               ("apps", "StatefulSet", "b", "db"), ("", "ConfigMap", "a", "web")}),
        (app_pods.Selector(kind="Deployment"), {("apps", "Deployment", "a", "web")}),
        (app_pods.Selector(name="web", group=""), {("", "ConfigMap", "a", "web")}),
        (app_pods.Selector(namespace="b"), {("apps", "StatefulSet", "b", "db")}),
        (app_pods.Selector(kind="Pod"), set()),
    ],
)  # fmt: skip
def test_selected(sel: app_pods.Selector, want: set[tuple[str, str, str, str]]) -> None:
    assert app_pods.selected(RESOURCES, sel) == {ResourceKey(*k) for k in want}


@pytest.mark.parametrize(
    ("content", "text", "match_case", "kept"),
    [
        ("GET /health 200", "", False, True),
        ("GET /health 200", "health", False, True),
        ("GET /health 200", "HEALTH", False, True),
        ("GET /health 200", "HEALTH", True, False),
        ("GET /health 200", "!health", False, False),
        ("POST /orders 500", "!health", False, True),
    ],
)
def test_filter(content: str, text: str, match_case: bool, kept: bool) -> None:
    assert app_pods.keeps(content, text, match_case=match_case) is kept


def test_until_time() -> None:
    until = app_pods.parse_time("2026-01-01T10:00:00Z")
    assert until == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)
    assert not app_pods.after("2026-01-01T09:59:59.999999999Z", until)
    assert app_pods.after("2026-01-01T10:00:00.000001Z", until)
    assert not app_pods.after("2026-01-01T11:00:00Z", None)


def test_default_container_and_query() -> None:
    pod = {"metadata": {"annotations": {}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}}
    assert app_pods.default_container(pod) == "a"
    pod["metadata"]["annotations"] = {"kubectl.kubernetes.io/default-container": "b"}
    assert app_pods.LogQuery(tail=3, since_seconds=60, previous=True).params(pod) == {
        "timestamps": "true", "follow": "false", "container": "b", "tailLines": "3",
        "sinceSeconds": "60", "previous": "true",
    }  # fmt: skip
