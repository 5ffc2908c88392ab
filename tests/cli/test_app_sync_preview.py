"""``app sync --label``: which resources a label selects (pure), and the preview's printing."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.cli import app_sync_preview

MANIFESTS: list[dict[str, Any]] = [
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "web", "namespace": "n", "labels": {"tier": "front", "team": "a"}}},
    {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "cfg", "labels": {"tier": "back"}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "n"}},
]  # fmt: skip


@pytest.mark.parametrize(
    ("labels", "want"),
    [
        ({"tier": "front"}, [("apps", "Deployment", "web")]),
        ({"tier": "back", "team": "a"}, [("apps", "Deployment", "web"), ("", "ConfigMap", "cfg")]),
        ({"tier": "middle"}, []),
        ({"team": ""}, []),  # a label must have the value, not only the key
    ],
)
def test_any_label_selects(labels: dict[str, str], want: list[tuple[str, str, str]]) -> None:
    got = app_sync_preview.labelled(MANIFESTS, labels)
    assert [(r["group"], r["kind"], r["name"]) for r in got] == want


def test_label_and_resource_selections_add_up() -> None:
    by_label = [{"group": "", "kind": "ConfigMap", "name": "cfg"}]
    given = [{"group": "apps", "kind": "Deployment", "name": "web"}]
    assert app_sync_preview.merge_resources(given, by_label + given) == given + by_label
    assert app_sync_preview.merge_resources(None, by_label) == by_label


def test_preview_prints_modified_resources_only(capsys: pytest.CaptureFixture[str]) -> None:
    items = [
        {"kind": "ConfigMap", "namespace": "n", "name": "a", "modified": True, "diff": "-x\n+y\n"},
        {"kind": "ConfigMap", "namespace": "n", "name": "b", "modified": False},
        {"kind": "Pod", "namespace": "n", "name": "hook", "modified": True, "hook": True},
        {"group": "apps", "kind": "Deployment", "namespace": "n", "name": "new",
         "modified": True, "liveState": "null"},
    ]  # fmt: skip
    assert app_sync_preview.print_diffs(items) == 2
    assert capsys.readouterr().out.splitlines() == [
        "===== ConfigMap n/a ======", "-x", "+y",
        "===== apps/Deployment n/new ======", "(not on the cluster yet: created by the sync)",
    ]  # fmt: skip
