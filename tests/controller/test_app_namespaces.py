"""Applications in any namespace: which Applications the controller takes as its own, and the
one key (Argo CD's instance name) it knows each by."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tidegate.controller import engine, settings
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch
from tidegate.model import application as model_app
from tidegate.model.keys import ResourceKey

MGMT = kube_config.ClusterConfig(server="https://127.0.0.1:1", name="mgmt")


@pytest.mark.parametrize(
    ("namespace", "name", "expected"),
    [
        ("argocd", "web", "web"),  # the control namespace: the name alone, as before
        ("", "web", "web"),
        ("team-a", "web", "team-a_web"),
    ],
)
def test_instance_name_round_trips(namespace: str, name: str, expected: str) -> None:
    key = model_app.instance_name(namespace, name, "argocd")
    assert key == expected
    assert model_app.split_instance_name(key, "argocd") == (namespace or "argocd", name)


def _app(namespace: str, name: str, version: str = "1") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": version},
        "spec": {"project": "default", "destination": {}, "source": {}},
    }


def _controller(*patterns: str) -> engine.Controller:
    conf = settings.Settings(namespace="argocd", application_namespaces=patterns)
    return engine.Controller(mgmt=MGMT, settings=conf)


def test_apps_of_watched_namespaces_are_keyed_by_instance_name() -> None:
    async def go() -> None:
        ctrl = _controller("team-*", "/^ops$/")
        try:
            ctrl._handle(
                engine.APP_KEY,
                kube_watch.WatchEvent(
                    "RELISTED",
                    items=[
                        _app("argocd", "web"),
                        _app("team-a", "web"),
                        _app("ops", "db"),
                        _app("other", "web"),  # not watched: ignored entirely
                    ],
                ),
            )
            assert sorted(ctrl.states.names()) == ["ops_db", "team-a_web", "web"]
            assert ctrl._app_key("team-a_web") == ResourceKey(
                "argoproj.io", "Application", "team-a", "web"
            )
            home = ResourceKey("argoproj.io", "Application", "argocd", "web")
            assert ctrl._app_key("web") == home
            # A namespace created later is picked up by the same watch.
            ctrl._handle(
                engine.APP_KEY, kube_watch.WatchEvent("ADDED", object=_app("team-new", "api"))
            )
            ctrl._handle(
                engine.APP_KEY, kube_watch.WatchEvent("ADDED", object=_app("elsewhere", "api"))
            )
            assert "team-new_api" in ctrl.states and "elsewhere_api" not in ctrl.states
            ctrl._handle(
                engine.APP_KEY, kube_watch.WatchEvent("DELETED", object=_app("team-a", "web"))
            )
            assert "team-a_web" not in ctrl.states and "web" in ctrl.states
        finally:
            ctrl.scheduler.close()
            await ctrl.mgmt.aclose()

    asyncio.run(go())


def test_without_application_namespaces_only_the_control_namespace_counts() -> None:
    ctrl = _controller()
    assert ctrl.app_namespace_watched("argocd")
    assert not ctrl.app_namespace_watched("team-a")
    assert ctrl.deps.control_namespace == "argocd"
