"""Blue-green from Git with argocd-example-apps-style manifests, unchanged (no instance label:
the management controller's default Rollouts controller takes them): the first version is
active and previewed; a new image is previewed while the active Service keeps the old pods and
the app is Suspended; promote switches the active selector, and the old ReplicaSet scales down
only after scaleDownDelaySeconds; the app ends Synced and Healthy."""

from __future__ import annotations

import datetime

import pytest
from tests.controller.e2e.conftest import gitops  # noqa: F401 - the module's GitOps fixture
from tests.rollouts.e2e.conftest import Dev, dump

from tidegate.testenv import scenario, wait

pytestmark = pytest.mark.e2e
DELAY = 15


def _manifests(color: str) -> dict[str, str]:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "bluegreen-demo", "labels": {"app": "bluegreen-demo"}},
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": "bluegreen-demo"}},
            "template": {
                "metadata": {"labels": {"app": "bluegreen-demo"}},
                "spec": {"containers": [{
                    "name": "bluegreen-demo", "image": f"argoproj/rollouts-demo:{color}",
                    "imagePullPolicy": "Always",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                }]},
            },
            "strategy": {"blueGreen": {
                "activeService": "bluegreen-demo",
                "previewService": "bluegreen-demo-preview",
                "autoPromotionEnabled": False,
                "scaleDownDelaySeconds": DELAY,
            }},
        },
    }  # fmt: skip

    def service(name: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": {"app": "bluegreen-demo"}},
            "spec": {
                "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP", "name": "http"}],
                "selector": {"app": "bluegreen-demo"},
            },
        }

    return {
        "blue-green/bluegreen-rollout.yaml": dump(rollout),
        "blue-green/bluegreen-service.yaml": dump(
            service("bluegreen-demo"), service("bluegreen-demo-preview")
        ),
    }


def _health(app: dict[str, object]) -> str:
    return str(((app.get("status") or {}).get("health") or {}).get("status"))  # type: ignore[union-attr]


async def test_bluegreen_preview_promote_and_delayed_scale_down(
    gitops: scenario.GitOps,  # noqa: F811
) -> None:
    repo, work = gitops.repo(_manifests("blue"))
    ns = f"bg-{gitops.namespace}"
    dev = Dev(gitops.bed, ns)
    try:
        gitops.create_app(
            scenario.application("bluegreen", repo_url=repo.http_url, path="blue-green",
                                 server=gitops.bed.clusters["dev"].server, namespace=ns)
        )  # fmt: skip
        gitops.wait_app("bluegreen", lambda a: scenario.synced_healthy(a, work.head()), timeout=120,
                        what="blue Synced and Healthy")  # fmt: skip
        blue = dev.status("bluegreen-demo")["currentPodHash"]
        assert (dev.service_hash("bluegreen-demo"), dev.service_hash("bluegreen-demo-preview")) == (
            blue,
            blue,
        )

        green_sha = work.commit(_manifests("green"), "green")
        gitops.wait_app("bluegreen", lambda a: _health(a) == "Suspended", timeout=120,
                        what="green previewed, waiting for promotion")  # fmt: skip
        green = dev.status("bluegreen-demo")["currentPodHash"]
        assert green != blue
        assert dev.service_hash("bluegreen-demo") == blue
        assert dev.service_hash("bluegreen-demo-preview") == green
        await wait.eventually(
            lambda: (
                dev.images()
                == {"argoproj/rollouts-demo:blue": 3, "argoproj/rollouts-demo:green": 3}
            ),
            within=60,
        )

        done = dev.cli("promote", "bluegreen-demo")
        assert done.returncode == 0, done.stderr
        await wait.eventually(lambda: dev.service_hash("bluegreen-demo") == green, within=30)
        # The old version keeps its pods, with the deadline of its delay on its ReplicaSet
        # (DELAY s after the switch, set by the controller), then scales down.
        sets = {
            rs["metadata"]["labels"]["rollouts-pod-template-hash"]: rs for rs in dev.replica_sets()
        }
        old = sets[blue]
        assert old["spec"]["replicas"] == 3
        deadline = datetime.datetime.fromisoformat(
            old["metadata"]["annotations"]["scale-down-deadline"].replace("Z", "+00:00")
        )
        created = datetime.datetime.fromisoformat(
            old["metadata"]["creationTimestamp"].replace("Z", "+00:00")
        )
        assert deadline >= created + datetime.timedelta(seconds=DELAY)  # counted from the switch
        await wait.eventually(
            lambda: dev.images() == {"argoproj/rollouts-demo:green": 3}, within=DELAY + 60
        )
        gitops.wait_app("bluegreen", lambda a: scenario.synced_healthy(a, green_sha), timeout=60,
                        what="green Synced and Healthy")  # fmt: skip
    finally:
        dev.delete_namespace()
