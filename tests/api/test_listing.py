"""Pure listing logic: label selectors, filters, paging, field selection, summary."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.api import listing


def _app(name: str, **kw: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": kw.get("labels", {})},
        "spec": {
            "project": kw.get("project", "default"),
            "source": {"repoURL": kw.get("repo", "https://git.example/org/repo.git")},
            "destination": {"server": kw.get("server", "https://dev"), "namespace": "ns"},
        },
        "status": {
            "sync": {"status": kw.get("sync", "Synced")},
            "health": {"status": kw.get("health", "Healthy")},
        },
    }


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ("team=a", {"team": "a"}, True),
        ("team==a,env!=prod", {"team": "a", "env": "dev"}, True),
        ("team=a,env!=prod", {"team": "a", "env": "prod"}, False),
        ("env in (dev, staging)", {"env": "staging"}, True),
        ("env notin (dev,staging)", {"env": "dev"}, False),
        ("team", {"team": "x"}, True),
        ("!team", {"team": "x"}, False),
        ("!team", {}, True),
    ],
)
def test_label_selectors(selector: str, labels: dict[str, str], expected: bool) -> None:
    query = listing.Query.build(selector=selector)
    assert query.matches(_app("a", labels=labels)) is expected


@pytest.mark.parametrize("bad", ["a in b", "=x", "a in (b", "!a=b"])
def test_bad_selectors(bad: str) -> None:
    with pytest.raises(listing.QueryError):
        listing.Query.build(selector=bad)


def test_filters() -> None:
    apps = [
        _app("web", sync="OutOfSync", health="Degraded", labels={"team": "a"}),
        _app("api", project="payments", repo="https://git.example/org/repo"),
        _app("db", server="https://prod"),
    ]

    def names(**kw: Any) -> list[str]:
        query = listing.Query.build(**kw)
        return [a["metadata"]["name"] for a in apps if query.matches(a)]

    assert names(sync=["OutOfSync"]) == ["web"]
    assert names(health=["Healthy,Degraded"]) == ["web", "api", "db"]
    assert names(projects=["payments"]) == ["api"]
    assert names(cluster=["https://prod"]) == ["db"]
    assert names(search="A") == ["api"]
    assert names(repo="https://git.example/org/repo.git") == ["web", "api", "db"]
    assert names(namespace=["other"]) == []


def test_paging_is_stable_and_bounded() -> None:
    apps = [_app(f"app-{i}") for i in range(5)]
    first = listing.page(iter(apps), listing.Query(), limit=2)
    assert [a["metadata"]["name"] for a in first.items] == ["app-0", "app-1"]
    assert first.continue_token is not None
    assert listing.decode_continue(first.continue_token) == "app-1"
    last = listing.page(iter(apps[4:]), listing.Query(), limit=2)
    assert last.continue_token is None
    with pytest.raises(listing.QueryError):
        listing.page(iter(apps), listing.Query(), limit=listing.MAX_LIMIT + 1)
    with pytest.raises(listing.QueryError):
        listing.decode_continue("!!!")


def test_field_selection() -> None:
    doc = {"items": [_app("a")], "metadata": {"resourceVersion": "7"}}
    kept = listing.select_fields(doc, ["items.metadata.name,metadata.resourceVersion"])
    assert kept == {"items": [{"metadata": {"name": "a"}}], "metadata": {"resourceVersion": "7"}}
    dropped = listing.select_fields(doc, ["-items.status,-items.spec"])
    assert dropped["items"] == [{"metadata": doc["items"][0]["metadata"]}]
    assert listing.select_fields(doc, []) is doc


def test_summary() -> None:
    apps = [_app("a"), _app("b", sync="OutOfSync"), {"metadata": {"name": "c"}, "operation": {}}]
    apps[2]["operation"] = {"sync": {}}
    assert listing.summarize(apps) == {
        "total": 3,
        "sync": {"Synced": 1, "OutOfSync": 1, "Unknown": 1},
        "health": {"Healthy": 2, "Unknown": 1},
        "operation": {"Requested": 1},
    }


def test_refresh_is_taken_only_by_a_later_version_without_the_annotation() -> None:
    from tidegate.api import applications

    def app(version: str, annotated: bool) -> dict[str, Any]:
        annotations = {"argocd.argoproj.io/refresh": "normal"} if annotated else {}
        return {"metadata": {"resourceVersion": version, "annotations": annotations}}

    assert not applications.refreshed(app("9", False), "10")  # the hub lags: older version
    assert not applications.refreshed(app("10", True), "10")  # our own write
    assert not applications.refreshed(app("11", True), "10")
    assert applications.refreshed(app("11", False), "10")  # the controller took it
    assert applications.refreshed(None, "10")  # deleted meanwhile
