"""The issue's canary, deployed by an Application from Git and driven by the management
controller's Rollouts controller on dev: v1 Healthy with 5 pods; a commit changing the image
pauses at 20% (1 canary + 4 stable) with the app Suspended; promote walks 40 -> 60 -> 100 through
the timed pauses and the app ends Synced and Healthy with 5 v2 pods. Then abort restores 5
stable pods (app Degraded) and retry resumes the update."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.controller.e2e.conftest import gitops  # noqa: F401 - the module's GitOps fixture
from tests.rollouts.e2e.conftest import Dev, dump, instance_id, rollout_manifest

from tidegate.testenv import scenario, wait

pytestmark = pytest.mark.e2e

INSTANCE = instance_id()
STEPS = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 40},
    {"pause": {"duration": 20}},
    {"setWeight": 60},
    {"pause": {"duration": 20}},
    {"setWeight": 100},
]


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return ["--rollouts-instance-id", INSTANCE]


def _files(image: str) -> dict[str, str]:
    return {
        "app/rollout.yaml": dump(
            rollout_manifest("web", image, INSTANCE, {"canary": {"steps": STEPS}})
        )
    }


def _health(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("health") or {}).get("status"))


async def test_canary_from_git_pause_promote_abort_retry(
    gitops: scenario.GitOps,  # noqa: F811
) -> None:
    repo, work = gitops.repo(_files("registry.invalid/web:v1"))
    ns = f"ro-{gitops.namespace}"
    dev = Dev(gitops.bed, ns)
    try:
        gitops.create_app(
            scenario.application(
                "canary", repo_url=repo.http_url, path="app",
                server=gitops.bed.clusters["dev"].server, namespace=ns,
            )
        )  # fmt: skip
        gitops.wait_app("canary", lambda a: scenario.synced_healthy(a, work.head()), timeout=120,
                        what="v1 Synced and Healthy")  # fmt: skip
        assert await wait.eventually(
            lambda: dev.images() == {"registry.invalid/web:v1": 5}, within=60
        )

        # v2: the canary pauses at 20%, 1 canary pod and 4 stable, and the app is Suspended.
        v2 = work.commit(_files("registry.invalid/web:v2"), "v2")
        gitops.wait_app("canary", lambda a: _health(a) == "Suspended", timeout=120,
                        what="Suspended at the first pause")  # fmt: skip
        await wait.eventually(
            lambda: dev.images() == {"registry.invalid/web:v1": 4, "registry.invalid/web:v2": 1},
            within=60,
        )
        status = dev.status("web")
        assert (status["phase"], status["currentStepIndex"]) == ("Paused", 1)
        assert [c["reason"] for c in status["pauseConditions"]] == ["CanaryPauseStep"]
        assert dev.cli_json("get", "web")["setWeight"] == 20

        # promote: 40% during the first timed pause, 60% during the second, then 100%.
        done = dev.cli("promote", "web")
        assert done.returncode == 0, done.stderr
        await wait.eventually(
            lambda: (
                dev.status("web").get("currentStepIndex") == 3
                and dev.images() == {"registry.invalid/web:v1": 3, "registry.invalid/web:v2": 2}
            ),
            within=60,
        )
        await wait.eventually(
            lambda: (
                dev.status("web").get("currentStepIndex") == 5
                and dev.images() == {"registry.invalid/web:v1": 2, "registry.invalid/web:v2": 3}
            ),
            within=60,
        )
        try:
            gitops.wait_app("canary", lambda a: scenario.synced_healthy(a, v2), timeout=120,
                            what="v2 Synced and Healthy")  # fmt: skip
        except AssertionError as exc:  # a stall seen twice in full runs: say what dev holds
            raise AssertionError(f"{exc}\non dev: {_workload(dev)}") from None
        await wait.eventually(lambda: dev.images() == {"registry.invalid/web:v2": 5}, within=60)
        assert dev.status("web")["stableRS"] == dev.status("web")["currentPodHash"]

        # v3, aborted at the first pause: 5 stable (v2) pods again and the app Degraded.
        work.commit(_files("registry.invalid/web:v3"), "v3")
        gitops.wait_app("canary", lambda a: _health(a) == "Suspended", timeout=120,
                        what="Suspended at v3's first pause")  # fmt: skip
        done = dev.cli("abort", "web")
        assert done.returncode == 0, done.stderr
        await wait.eventually(lambda: dev.images() == {"registry.invalid/web:v2": 5}, within=60)
        app = gitops.wait_app("canary", lambda a: _health(a) == "Degraded", timeout=60,
                              what="Degraded after the abort")  # fmt: skip
        assert "RolloutAborted" in app["status"]["health"].get("message", "") or any(
            "RolloutAborted" in str((r.get("health") or {}).get("message"))
            for r in app["status"].get("resources") or ()
        )

        # Kubernetes Events on the Rollout, as Argo Rollouts words them.
        def reasons() -> set[str]:
            listed = (
                dev.get(
                    f"/api/v1/namespaces/{dev.ns}/events?fieldSelector=involvedObject.name%3Dweb"
                )
                or {}
            )
            return {e["reason"] for e in listed.get("items") or ()}

        wanted = {"RolloutStepCompleted", "RolloutPaused", "RolloutCompleted", "RolloutAborted"}
        try:
            await wait.eventually(lambda: wanted <= reasons(), within=30)
        except AssertionError:
            raise AssertionError(f"events seen: {sorted(reasons())}") from None

        # retry: the update starts again and pauses at 20%.
        done = dev.cli("retry", "web")
        assert done.returncode == 0, done.stderr
        await wait.eventually(
            lambda: dev.images() == {"registry.invalid/web:v2": 4, "registry.invalid/web:v3": 1},
            within=60,
        )
        gitops.wait_app("canary", lambda a: _health(a) == "Suspended", timeout=60,
                        what="Suspended again after the retry")  # fmt: skip
    finally:
        dev.delete_namespace()


def _workload(dev: Dev) -> str:
    """The Rollout's status and each ReplicaSet's and Pod's state on dev, for a failure."""
    sets = (dev.get(f"/apis/apps/v1/namespaces/{dev.ns}/replicasets") or {}).get("items") or ()
    pods = (dev.get(f"/api/v1/namespaces/{dev.ns}/pods") or {}).get("items") or ()
    return json.dumps(
        {
            "rollout": dev.status("web"),
            "replicasets": [
                {"name": r["metadata"]["name"], "spec": r["spec"].get("replicas"),
                 "status": r.get("status")}
                for r in sets
            ],
            "pods": [
                {"name": p["metadata"]["name"], "phase": (p.get("status") or {}).get("phase"),
                 "deleting": p["metadata"].get("deletionTimestamp"),
                 "finalizers": p["metadata"].get("finalizers"), "node": p["spec"].get("nodeName")}
                for p in pods
            ],
        },
        indent=1,
    )  # fmt: skip
