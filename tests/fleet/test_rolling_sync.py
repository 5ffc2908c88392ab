"""RollingSync over dev -> staging -> prod with the real controllers and real rollouts.

The clusters carry an ``env`` label; the template copies it onto each Application, and the
steps select apps by it. A new image tag is observed on the live Deployments and in consistent
snapshots of the Applications (one list call), so the order is asserted, not assumed. A broken
release (pods that cannot be scheduled, ``progressDeadlineSeconds: 5``: the Deployment reports
ProgressDeadlineExceeded and the app turns Degraded) halts the rollout at dev.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from tidegate.testenv.scenario import synced_healthy

from .fleet import Fleet, deployment_available, deployment_yaml, eventually, image_of

pytestmark = pytest.mark.e2e

CLUSTER_LABELS = {
    "dev": {"environment": "dev", "env": "dev"},
    "staging": {"environment": "staging", "env": "staging"},
    "prod": {"environment": "production", "env": "prod"},
}
ORDER = ("dev", "staging", "prod")
V1, V2, BROKEN = "nginx:1.27.0", "nginx:1.27.1", "nginx:1.27.2"
BROKEN_SPEC = "  progressDeadlineSeconds: 5\n"
# No kwok node has this label: the new ReplicaSet's pod stays Pending, the rollout never ends.
BROKEN_POD = "      nodeSelector:\n        tidegate.test/no-such-node: 'true'\n"


def rolling_set(repo_url: str, ns: str, prefix: str) -> dict[str, Any]:
    def step(env: str) -> dict[str, Any]:
        return {"matchExpressions": [{"key": "env", "operator": "In", "values": [env]}]}

    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "web"},
        "spec": {
            "generators": [
                {
                    "clusters": {
                        "selector": {
                            "matchExpressions": [
                                {"key": "env", "operator": "In", "values": list(ORDER)}
                            ]
                        }
                    }
                }
            ],
            "strategy": {
                "type": "RollingSync",
                "rollingSync": {"steps": [step(env) for env in ORDER]},
            },
            "template": {
                "metadata": {
                    "name": prefix + "{{name}}",
                    "labels": {"env": "{{metadata.labels.env}}"},
                },
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo_url, "targetRevision": "main", "path": "apps/web"},
                    "destination": {"server": "{{server}}", "namespace": ns},
                    "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }


def prefix(fleet: Fleet) -> str:
    """App names are ``<prefix><env>``, unique on the shared clusters."""
    return f"r{fleet.token}-"


def sync_started(app: Mapping[str, Any], revision: str) -> bool:
    """The app has been asked to sync to ``revision`` (operation set, running or finished)."""
    op = (app.get("operation") or {}).get("sync") or {}
    state = (app.get("status") or {}).get("operationState") or {}
    recorded = ((state.get("operation") or {}).get("sync") or {}).get("revision")
    return revision in (
        op.get("revision"),
        recorded,
        (state.get("syncResult") or {}).get("revision"),
    )


def describe(app: Mapping[str, Any]) -> str:
    status = app.get("status") or {}
    state = status.get("operationState") or {}
    sync = status.get("sync") or {}
    return (
        f"sync={sync.get('status')}@{sync.get('revision')} health={status.get('health')} "
        f"operation={app.get('operation')} opPhase={state.get('phase')} "
        f"rv={(app.get('metadata') or {}).get('resourceVersion')}"
    )


def health(app: Mapping[str, Any]) -> str:
    return str(((app.get("status") or {}).get("health") or {}).get("status") or "")


class Observer:
    """Polls Applications (one consistent list) and the live Deployments, recording when each
    cluster's app started syncing to a revision, became Synced+Healthy at it, and when its
    Deployment first showed the new image and first became Available with it."""

    def __init__(self, fleet: Fleet, ns: str, revision: str, image: str) -> None:
        self.fleet, self.ns, self.revision, self.image = fleet, ns, revision, image
        self.fleet_prefix = prefix(fleet)
        self.started = time.monotonic()
        self.sync_start: dict[str, float] = {}
        self.healthy: dict[str, float] = {}
        self.image_seen: dict[str, float] = {}
        self.available: dict[str, float] = {}
        self.violations: list[str] = []

    def poll(self) -> dict[str, dict[str, Any]]:
        apps = self.fleet.apps()
        now = time.monotonic() - self.started
        for index, env in enumerate(ORDER):
            app = apps.get(self.fleet_prefix + env) or {}
            if sync_started(app, self.revision):
                self.sync_start.setdefault(env, now)
                # Same snapshot: every earlier step must already be Synced+Healthy at it.
                for before in ORDER[:index]:
                    earlier = apps.get(self.fleet_prefix + before) or {}
                    if not synced_healthy(earlier, self.revision):
                        self.violations.append(
                            f"{env} started at {now:.2f}s before {before}: {env} "
                            f"operation={app.get('operation')}; {before}: {describe(earlier)}"
                        )
            if synced_healthy(app, self.revision) and health(app) == "Healthy":
                self.healthy.setdefault(env, now)
        for env in ORDER:
            dep = self.fleet.deployment(env, self.ns, "web")
            now = time.monotonic() - self.started
            if image_of(dep) == self.image:
                self.image_seen.setdefault(env, now)
            if deployment_available(dep, self.image):
                self.available.setdefault(env, now)
        return apps

    def report(self) -> str:
        def at(times: dict[str, float], env: str) -> str:
            return f"{times[env]:6.2f}s" if env in times else "     -"

        return "\n".join(
            f"{env:8} sync {at(self.sync_start, env)}  image {at(self.image_seen, env)}"
            f"  available {at(self.available, env)}  app healthy {at(self.healthy, env)}"
            for env in ORDER
        )


def operation_times(app: Mapping[str, Any]) -> tuple[str, str]:
    state = (app.get("status") or {}).get("operationState") or {}
    return str(state.get("startedAt") or ""), str(state.get("finishedAt") or "")


def test_rolling_sync_promotes_in_order_and_halts_on_a_degraded_step(fleet_env: Fleet) -> None:
    fleet = fleet_env
    ns = fleet.dest_namespace("roll")
    repo, work = fleet.repo({"apps/web/deployment.yaml": deployment_yaml("web", V1)})
    first = work.head()
    p = prefix(fleet)
    fleet.apply_set(rolling_set(repo.http_url, ns, p))
    names = {f"{p}{env}" for env in ORDER}
    eventually(lambda: set(fleet.apps()) == names, within=30, what="three apps")
    apps = fleet.apps()
    assert {a["metadata"]["labels"]["env"] for a in apps.values()} == set(ORDER)
    assert not any((a["spec"].get("syncPolicy") or {}).get("automated") for a in apps.values())

    # The first release rolls out through the three steps.
    observer = Observer(fleet, ns, first, V1)
    eventually(
        lambda: observer.poll() and len(observer.healthy) == 3, within=180, what="v1 everywhere"
    )
    assert not observer.violations, f"{observer.violations}\n{fleet.log_tail(60)}"
    print(f"\nfirst release (from set creation):\n{observer.report()}")

    # A new image tag: dev first, staging after dev is healthy, prod last.
    second = work.commit(
        {"apps/web/deployment.yaml": deployment_yaml("web", V2)}, "web: nginx 1.27.1"
    )
    observer = Observer(fleet, ns, second, V2)
    fleet.push_webhook(repo, before=first, after=second, modified=["apps/web/deployment.yaml"])
    eventually(
        lambda: observer.poll() and len(observer.available) == 3 and len(observer.healthy) == 3,
        within=180,
        what="v2 everywhere",
    )
    print(f"new image tag (from the push):\n{observer.report()}")
    assert not observer.violations, f"{observer.violations}\n{fleet.log_tail(60)}"
    seen, ready = observer.image_seen, observer.available
    assert seen["dev"] < seen["staging"] < seen["prod"], observer.report()
    assert ready["dev"] <= seen["staging"] and ready["staging"] <= seen["prod"], observer.report()
    apps = fleet.apps()
    dev_op, staging_op, prod_op = (operation_times(apps[f"{p}{env}"]) for env in ORDER)
    assert dev_op[1] <= staging_op[0] and staging_op[1] <= prod_op[0], (dev_op, staging_op, prod_op)
    rolling = fleet.set_condition("web", "RolloutProgressing")
    assert rolling is not None and rolling["status"] == "False", rolling

    # A release whose pods never become ready stops at dev; staging and prod keep v2.
    third = work.commit(
        {
            "apps/web/deployment.yaml": deployment_yaml(
                "web", BROKEN, extra_spec=BROKEN_SPEC, pod_spec=BROKEN_POD
            )
        },
        "web: nginx 1.27.2 (unschedulable)",
    )
    fleet.push_webhook(repo, before=second, after=third, modified=["apps/web/deployment.yaml"])
    started = time.monotonic()
    fleet.wait_app(
        f"{p}dev",
        lambda a: health(a) == "Degraded" and sync_started(a, third),
        timeout=90,
        what="dev Degraded on the broken release",
    )
    degraded_after = time.monotonic() - started
    halted = eventually(
        lambda: (
            (c := fleet.set_condition("web", "RolloutProgressing"))
            and c.get("reason") == "ApplicationSetRolloutHalted"
            and c
        ),
        within=30,
        what="the rollout halted",
    )
    print(f"broken release: dev Degraded {degraded_after:.2f}s after the push; {halted['message']}")
    assert f"{p}dev" in halted["message"]
    dev = fleet.deployment("dev", ns, "web")
    assert dev is not None and image_of(dev) == BROKEN
    progressing = [c for c in dev["status"]["conditions"] if c["type"] == "Progressing"]
    assert progressing[0]["reason"] == "ProgressDeadlineExceeded"
    # Staging and prod are never released while dev stays Degraded (observed for a while: the
    # controllers keep reconciling, the apps' status is rewritten, nothing moves).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        apps = fleet.apps()
        for env in ("staging", "prod"):
            assert not sync_started(apps[f"{p}{env}"], third), apps[f"{p}{env}"].get("operation")
            assert deployment_available(fleet.deployment(env, ns, "web"), V2)
        time.sleep(0.5)
    statuses = {
        s["application"]: s["status"]
        for s in (fleet.get_set("web").get("status") or {}).get("applicationStatus") or []
    }
    assert statuses[f"{p}staging"] == "Waiting" and statuses[f"{p}prod"] == "Waiting", statuses
