"""The controller's state gauges, rendered from app records at scrape time."""

from __future__ import annotations

import dataclasses
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tidegate import render
from tidegate.controller import appstate, clusters, metrics, runtime, scheduler
from tidegate.metrics import exposition, registry


@dataclasses.dataclass
class Source:
    namespace: str
    states: appstate.AppStates
    registry: clusters.ClusterRegistry
    runtimes: runtime.Runtimes
    scheduler: scheduler.Scheduler
    deps: Any


def source_of(states: appstate.AppStates) -> Source:
    """A controller's view with ``states`` and nothing else (no clusters, empty caches)."""
    return Source(
        namespace="argocd",
        states=states,
        registry=clusters.ClusterRegistry([], management=None),
        runtimes=runtime.Runtimes(on_change=lambda *a: None, tracking_method="annotation"),
        scheduler=scheduler.Scheduler(names=states.names, resync_seconds=180, jitter=0),
        deps=dataclasses.make_dataclass("Deps", ["render_cache"])(render.RenderCache()),
    )


def app(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd", "labels": labels},
        "spec": {
            "project": "team-a",
            "source": {"repoURL": "https://git.example/r.git", "path": "p"},
            "destination": {"server": "https://dev.example", "namespace": "web"},
            "syncPolicy": {"automated": {}},
        },
        "status": {
            "sync": {"status": "OutOfSync"},
            "health": {"status": "Degraded"},
            "conditions": [{"type": "SyncError", "message": "x"}],
        },
    }


def families(text: bytes) -> dict[str, list[Any]]:
    return {f.name: f.samples for f in text_string_to_metric_families(text.decode())}


def test_app_info_labels_conditions_and_tidegate_gauges() -> None:
    states = appstate.AppStates()
    states.seen("web", app("web", team="payments"))
    states.seen("api", app("api"))
    source = source_of(states)
    collector = metrics.StateCollector(source, app_labels=["team", "app.kubernetes.io/part-of"])
    got = families(exposition.render(collector.collect, include_process=False))
    info = {s.labels["name"]: s.labels for s in got["argocd_app_info"]}
    assert info["web"] == {
        "namespace": "argocd",
        "name": "web",
        "project": "team-a",
        "autosync_enabled": "true",
        "repo": "https://git.example/r.git",
        "dest_server": "https://dev.example",
        "dest_namespace": "web",
        "sync_status": "OutOfSync",
        "health_status": "Degraded",
        "operation": "",
    }
    labels = {s.labels["name"]: s.labels for s in got["argocd_app_labels"]}
    assert labels["web"]["label_team"] == "payments"
    assert labels["api"]["label_team"] == ""
    assert "label_app_kubernetes_io_part_of" in labels["web"]
    assert {s.labels["condition"] for s in got["argocd_app_condition"]} == {"SyncError"}
    caches = {s.labels["cache"]: s.value for s in got["tidegate_cache_entries"]}
    assert caches["apps"] == 2 and caches["render"] == 0


def test_registry_declares_once_and_refuses_a_different_shape() -> None:
    first = registry.counter("tidegate_test_things_total", "Things.", ("kind",))
    assert registry.counter("tidegate_test_things", "Things.", ("kind",)) is first
    try:
        registry.gauge("tidegate_test_things", "Things.", ("kind",))
    except ValueError as exc:
        assert "already declared" in str(exc)
    else:
        raise AssertionError("a second declaration with another type was accepted")


def test_families_render_the_text_format_prometheus_parses() -> None:
    hist = registry.histogram("tidegate_test_wait_seconds", "Waits.", ("q",), buckets=(0.5, 1, 2))
    for value in (0.1, 0.7, 0.7, 5.0):
        hist.labels('a"b\\c').observe(value)
    count = registry.counter("tidegate_test_events_total", "Events.", ("kind",))
    count.labels("x").inc(3)
    got = families(exposition.render())
    buckets = {
        s.labels["le"]: s.value
        for s in got["tidegate_test_wait_seconds"]
        if s.name.endswith("_bucket")
    }
    assert buckets == {"0.5": 1, "1.0": 3, "2.0": 3, "+Inf": 4}
    (label,) = {s.labels["q"] for s in got["tidegate_test_wait_seconds"]}
    assert label == 'a"b\\c'
    (sample,) = got["tidegate_test_events"]
    assert sample.name == "tidegate_test_events_total" and sample.value == 3


def test_the_shipped_grafana_dashboard_queries_only_exposed_metrics() -> None:
    import json
    import re
    from pathlib import Path

    from tidegate.metrics import families  # noqa: F401 (declares the process metrics)

    states = appstate.AppStates()
    states.seen("web", app("web"))
    source = source_of(states)
    exposed = exposition.render(metrics.StateCollector(source).collect).decode()
    names = set(re.findall(r"^# TYPE (\S+)", exposed, re.M))
    names |= {"argocd_appset_info", "argocd_appset_owned_applications"}  # appset controller's
    path = Path(__file__).parents[2] / "docs" / "grafana" / "tidegate-dashboard.json"
    dashboard = json.loads(path.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\b((?:argocd|tidegate)_\w+)", e)}
    unknown = {
        m for m in used if m not in names and re.sub(r"_(bucket|count|sum)$", "", m) not in names
    }
    assert used and not unknown, unknown


def test_a_new_copy_of_an_app_is_rendered_again_and_a_gone_app_dropped() -> None:
    states = appstate.AppStates()
    states.seen("web", app("web"))
    states.seen("api", app("api"))
    collector = metrics.StateCollector(source_of(states))
    first = families(exposition.render(collector.collect, include_process=False))
    assert {s.labels["sync_status"] for s in first["argocd_app_info"]} == {"OutOfSync"}
    synced = app("web")
    synced["status"]["sync"]["status"] = "Synced"
    synced["metadata"]["resourceVersion"] = "2"
    states.seen("web", synced)
    states.drop("api")
    again = families(exposition.render(collector.collect, include_process=False))
    assert [(s.labels["name"], s.labels["sync_status"]) for s in again["argocd_app_info"]] == [
        ("web", "Synced")
    ]


def test_cluster_and_appset_labels_when_asked() -> None:
    import base64

    from tidegate.appset import controller as appset_controller

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    secret = {
        "metadata": {
            "name": "dev",
            "labels": {"argocd.argoproj.io/secret-type": "cluster", "env": "dev"},
        },
        "data": {"name": b64("dev"), "server": b64("https://dev.example"), "config": b64("{}")},
    }
    source = source_of(appstate.AppStates())
    source.registry = clusters.ClusterRegistry([secret], management=None)
    collector = metrics.StateCollector(source, cluster_labels=["env", "tier"])
    got = families(exposition.render(collector.collect, include_process=False))
    by_name = {s.labels["name"]: s.labels for s in got["argocd_cluster_labels"]}
    assert by_name["dev"] == {
        "name": "dev",
        "server": "https://dev.example",
        "label_env": "dev",
        "label_tier": "",
    }
    assert "argocd_cluster_labels" not in families(
        exposition.render(metrics.StateCollector(source).collect, include_process=False)
    )
    sets = appset_controller.AppSetController(
        kube=None,  # type: ignore[arg-type] - only metrics() is used
        settings=appset_controller.Settings(metrics_labels=("team",)),
    )
    sets._sets["web"] = {"metadata": {"name": "web", "labels": {"team": "payments"}}}
    appset_families = families(exposition.render(sets.metrics, include_process=False))
    [labelled] = appset_families["argocd_appset_labels"]
    assert labelled.labels == {"namespace": "argocd", "name": "web", "label_team": "payments"}
