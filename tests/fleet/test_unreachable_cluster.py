"""An unreachable destination cluster with the real controller: its app reports Unknown with a
condition naming the cluster, the other apps keep syncing, and it recovers once its Secret
points at a real server."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tidegate.testenv import procs, scenario
from tidegate.testenv.scenario import synced_healthy

from .fleet import CLUSTERS, Fleet, app_state, deployment_available, deployment_yaml, eventually

pytestmark = pytest.mark.e2e

V1, V2 = "nginx:1.27.0", "nginx:1.27.1"
# More apps on the unreachable cluster than the controller has refresh workers (8), each with
# its own destination namespace (apps sharing a resource would fight over it).
LOST = {f"lost-{i}": f"lost{i}" for i in range(10)}


def app(name: str, repo_url: str, ns: str, destination: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": "apps/web"},
            "destination": {**destination, "namespace": ns},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


def unknown_with_condition(app: dict[str, Any]) -> bool:
    conditions = (app.get("status") or {}).get("conditions") or []
    return app_state(app) == ("Unknown", "Unknown") and bool(conditions)


def test_unreachable_cluster_is_reported_others_sync_and_it_recovers(fleet_env: Fleet) -> None:
    fleet = fleet_env
    p = f"u{fleet.token}-"  # app name prefix, unique on the shared clusters
    ns = fleet.dest_namespace("reach")
    lost_ns = {p + name: f"{ns}-{suffix}" for name, suffix in LOST.items()}
    fleet.dest_namespaces.update(("mgmt", n) for n in lost_ns.values())
    repo, work = fleet.repo({"apps/web/deployment.yaml": deployment_yaml("web", V1)})
    first = work.head()

    # 'lost' is registered with the address of a port nothing listens on.
    port = procs.free_port()
    closed = f"https://127.0.0.1:{port}"
    broken = scenario.cluster_secret(fleet.bed, "mgmt", namespace=fleet.namespace, name="lost")
    broken["stringData"]["server"] = closed
    fleet.put_secret(broken)

    for name in lost_ns:
        fleet.create_app(app(name, repo.http_url, lost_ns[name], {"name": "lost"}))
    for cluster in CLUSTERS:
        server = fleet.bed.clusters[cluster].server
        fleet.create_app(app(f"{p}{cluster}", repo.http_url, ns, {"server": server}))

    for cluster in CLUSTERS:
        fleet.wait_app(f"{p}{cluster}", lambda a: synced_healthy(a, first), timeout=90)
        assert deployment_available(fleet.deployment(cluster, ns, "web"), V1)
    for name in lost_ns:
        lost = fleet.wait_app(
            name,
            lambda a: unknown_with_condition(a),
            timeout=60,
            what="sync and health Unknown with a condition",
        )
    condition = lost["status"]["conditions"][0]
    print(f"\nunreachable cluster condition: {condition}")
    assert condition["type"] == "ComparisonError"
    assert "'lost'" in condition["message"] and closed in condition["message"]
    assert "unreachable" in condition["message"]
    assert "BEGIN" not in str(lost["status"])  # no key material anywhere in the status

    # The other apps keep following Git promptly while 'lost' is down, even right after a
    # change to the cluster Secrets made the controller refresh every app.
    fleet.label_cluster("dev", {"team": "web"})
    second = work.commit({"apps/web/deployment.yaml": deployment_yaml("web", V2)}, "nginx 1.27.1")
    started = time.monotonic()
    fleet.push_webhook(repo, before=first, after=second, modified=["apps/web/deployment.yaml"])
    for cluster in CLUSTERS:
        fleet.wait_app(f"{p}{cluster}", lambda a: synced_healthy(a, second), timeout=90)
        assert deployment_available(fleet.deployment(cluster, ns, "web"), V2)
    latency = time.monotonic() - started
    print(f"push -> reachable apps Synced+Healthy {latency:.2f}s with 'lost' down")
    assert latency < 5.0, fleet.log_tail()
    assert all(app_state(fleet.get_app(n)) == ("Unknown", "Unknown") for n in lost_ns)

    # Fixing the Secret (a real server: the management cluster) brings the app back.
    started = time.monotonic()
    fixed = scenario.cluster_secret(fleet.bed, "mgmt", namespace=fleet.namespace, name="lost")
    fleet.put_secret(fixed)
    for name in lost_ns:
        recovered = fleet.wait_app(
            name, lambda a: synced_healthy(a, second), timeout=90, what="recovered"
        )
        assert not [
            c
            for c in recovered["status"].get("conditions") or []
            if c["type"] in ("ComparisonError", "InvalidSpecError")
        ]
        # Nothing of the outage is left in its status (a merge patch keeps absent keys).
        assert "unreachable" not in str(recovered["status"]["health"]), recovered["status"]
    print(f"Secret fixed -> {len(LOST)} apps Synced+Healthy {time.monotonic() - started:.2f}s")
    for name in lost_ns:
        assert deployment_available(fleet.deployment("mgmt", lost_ns[name], "web"), V2)
    eventually(
        lambda: all(synced_healthy(fleet.get_app(f"{p}{c}"), second) for c in CLUSTERS),
        within=30,
        what="the other apps still Synced+Healthy",
    )
