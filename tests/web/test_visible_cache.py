"""The list page's cache of what a subject may see (pure: a stand-in hub, the built-in policy)."""

from __future__ import annotations

import types
from typing import Any

from tidegate.auth import access
from tidegate.web import pages


class Hub:
    def __init__(self, names: list[str]) -> None:
        self.namespace = "argocd"  # the control namespace: its apps' RBAC object is <proj>/<name>
        self.resource_version = "1"
        self.apps: dict[str, Any] = {
            n: {"metadata": {"name": n}, "spec": {"project": "default"}} for n in names
        }

    def sorted_apps(self) -> list[Any]:
        return [self.apps[n] for n in sorted(self.apps)]


def test_cached_until_the_hub_changes_and_only_the_current_version_is_kept() -> None:
    pages._VISIBLE.clear()
    hub = Hub(["b", "a"])
    ctx: Any = types.SimpleNamespace(hub=hub)
    admin = access.Subject("admin", "admin:login", ("role:admin",), access.PolicyRef())
    nobody = access.Subject("nobody", "nobody:login", (), access.PolicyRef())
    visible, options = pages.visible_apps(ctx, admin)
    assert [a["metadata"]["name"] for a in visible] == ["a", "b"]
    assert options["projects"] == ["default"]
    assert pages.visible_apps(ctx, admin)[0] is visible  # a hit
    assert pages.visible_apps(ctx, nobody)[0] == []  # per subject
    assert len(pages._VISIBLE) == 2

    hub.apps["c"] = {"metadata": {"name": "c"}, "spec": {"project": "default"}}
    hub.resource_version = "2"
    again, _ = pages.visible_apps(ctx, admin)
    assert [a["metadata"]["name"] for a in again] == ["a", "b", "c"]
    assert len(pages._VISIBLE) == 1  # the older version's entries are gone
