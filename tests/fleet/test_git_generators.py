"""Git generators with the real controllers: directories (a pushed directory arrives through the
webhook) and a matrix of directories x clusters, every generated app deployed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tidegate.testenv.scenario import synced_healthy

from .fleet import Fleet, deployment_available, deployment_yaml, eventually

pytestmark = pytest.mark.e2e

IMAGE = "nginx:1.27.0"


def app_files(*names: str) -> dict[str, str]:
    return {f"apps/{n}/deployment.yaml": deployment_yaml(n, IMAGE) for n in names}


def git_set(
    name: str,
    repo_url: str,
    generators: list[dict[str, Any]],
    *,
    app_name: str,
    server: str,
    ns: str,
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {
            "generators": generators,
            "template": {
                "metadata": {"name": app_name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "{{path}}"},
                    "destination": {"server": server, "namespace": ns},
                    "syncPolicy": {
                        "automated": {"prune": True, "selfHeal": True},
                        "syncOptions": ["CreateNamespace=true"],
                    },
                },
            },
        },
    }


def directories(repo_url: str) -> dict[str, Any]:
    return {"git": {"repoURL": repo_url, "revision": "main", "directories": [{"path": "apps/*"}]}}


def test_git_directories_one_app_per_directory_and_webhook_adds_one(fleet_env: Fleet) -> None:
    fleet = fleet_env
    d = f"d{fleet.token}-"  # app name prefix, unique on the shared clusters
    repo, work = fleet.repo(app_files("alpha", "beta"))
    for name in ("alpha", "beta", "gamma"):
        fleet.dest_namespace(f"dirs-{name}")
    manifest = git_set(
        "dirs",
        repo.http_url,
        [directories(repo.http_url)],
        app_name=d + "{{path.basename}}",
        server=fleet.bed.clusters["dev"].server,
        ns=f"{fleet.namespace}-dirs-{{{{path.basename}}}}",
    )
    fleet.apply_set(manifest)
    eventually(
        lambda: {n for n in fleet.apps() if n.startswith(d)} == {f"{d}alpha", f"{d}beta"},
        within=30,
        what="one app per directory",
    )
    first = work.head()
    for name in ("alpha", "beta"):
        fleet.wait_app(f"{d}{name}", lambda a: synced_healthy(a, first), timeout=90)
        dep = fleet.deployment("dev", f"{fleet.namespace}-dirs-{name}", name)
        assert deployment_available(dep, IMAGE)

    # A commit adding apps/gamma, announced by a GitHub push webhook, adds an app promptly.
    second = work.commit(app_files("gamma"), "add gamma")
    started = time.monotonic()
    delivery = fleet.push_webhook(
        repo, before=first, after=second, added=["apps/gamma/deployment.yaml"]
    )
    eventually(lambda: f"{d}gamma" in fleet.apps(), within=10, what="dirs-gamma generated")
    generated = time.monotonic() - started
    fleet.wait_app(f"{d}gamma", lambda a: synced_healthy(a, second), timeout=90)
    deployed = time.monotonic() - started
    assert deployment_available(
        fleet.deployment("dev", f"{fleet.namespace}-dirs-gamma", "gamma"), IMAGE
    )
    print(
        f"\nwebhook delivery {delivery:.2f}s; push -> dirs-gamma generated {generated:.2f}s, "
        f"Synced+Healthy {deployed:.2f}s"
    )
    assert generated < 5.0
    # The same push refreshed the existing apps to the new commit (their source repo moved).
    for name in ("alpha", "beta"):
        fleet.wait_app(f"{d}{name}", lambda a: synced_healthy(a, second), timeout=30)
    assert {n for n in fleet.apps() if n.startswith(d)} == {
        f"{d}{n}" for n in ("alpha", "beta", "gamma")
    }


def test_matrix_directories_by_clusters_deploys_the_cross_product(fleet_env: Fleet) -> None:
    fleet = fleet_env
    m = f"m{fleet.token}-"  # app name prefix, unique on the shared clusters
    repo, work = fleet.repo(app_files("api", "web"))
    ns = fleet.dest_namespace("matrix")
    clusters = {
        "clusters": {
            "selector": {
                "matchExpressions": [
                    {
                        "key": "environment",
                        "operator": "In",
                        "values": ["dev", "staging", "production"],
                    }
                ]
            }
        }
    }
    manifest = git_set(
        "matrix",
        repo.http_url,
        [{"matrix": {"generators": [directories(repo.http_url), clusters]}}],
        app_name=m + "{{path.basename}}-{{name}}",
        server="{{server}}",
        ns=ns,
    )
    fleet.apply_set(manifest)
    expected = {f"{m}{d}-{c}" for d in ("api", "web") for c in ("dev", "staging", "prod")}
    eventually(
        lambda: {n for n in fleet.apps() if n.startswith(m)} == expected,
        within=30,
        what="the cross product",
    )
    head = work.head()
    started = time.monotonic()
    for name in sorted(expected):
        app = fleet.wait_app(name, lambda a: synced_healthy(a, head), timeout=120)
        directory, cluster = name.removeprefix(m).split("-", 1)
        assert app["spec"]["destination"]["server"] == fleet.bed.clusters[cluster].server
        assert app["spec"]["source"]["path"] == f"apps/{directory}"
        assert deployment_available(fleet.deployment(cluster, ns, directory), IMAGE)
    print(f"\nmatrix: 6 apps Synced+Healthy {time.monotonic() - started:.2f}s after generation")
