"""A broken build stops in dev: its Pods never become ready, so dev's promotion fails, dev stays
on the earlier Freight, the Freight is verified nowhere, and staging and prod are not touched.

All real: the image is pushed to the test bed's registry, the promotion commits to its git
server, the controller syncs to the dev cluster, whose kwok keeps Pods of an image marked
``never-ready`` Running but not ready (testenv/kwokstages.py), and the kube-controller-manager
reports the Deployment's ``ProgressDeadlineExceeded``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.testenv import kwokstages, scenario
from tidegate.testenv import pipeline as pipeline_mod
from tidegate.testenv.pipeline import Pipeline

pytestmark = pytest.mark.e2e
SHARD = "broken-" + secrets.token_hex(3)
APP_RESYNC = 180
BROKEN = "1.0.1-never-ready"


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return [f"--promotions-shard={SHARD}"]


@pytest.fixture(scope="module")
def pipeline(gitops: scenario.GitOps) -> Iterator[Pipeline]:
    stages = (gitops.bed.directory / "kwok-stages.yaml").read_text()
    assert kwokstages.has_never_ready(stages), (
        "this test bed's kwok was started before the never-ready stage existed: "
        "`tidegate testenv down` and `up` give it (testenv/kwokstages.py)"
    )
    p = pipeline_mod.setup(gitops, shard=SHARD)
    yield p
    pipeline_mod.teardown(p)


def _promotions(p: Pipeline, stage: str, freight: str) -> list[dict[str, Any]]:
    return [
        x
        for x in p.kargo("GET", p.ns_path("promotions"))["items"]
        if x["spec"]["stage"] == stage and x["spec"]["freight"] == freight
    ]


def test_a_build_whose_pods_never_get_ready_fails_dev_and_goes_no_further(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    # The Deployment gives up 15 s after a rollout stalls (Argo CD's health: Degraded).
    deployment = yaml.safe_load(pipeline_mod.deployment(p.image))
    deployment["spec"]["progressDeadlineSeconds"] = 15
    p.work.commit({"base/deployment.yaml": yaml.safe_dump(deployment)}, "progress deadline 15s")
    # Pre-release tags too (the default pipeline's ^1.0.0 leaves them out).
    p.kargo(
        "PATCH",
        p.ns_path("warehouses", "guestbook"),
        {"spec": {"subscriptions": [{"image": {"repoURL": p.image}}]}},
    )
    pipeline_mod.push(p, "1.0.0")
    good = p.wait("Freight for 1.0.0", lambda: p.freight_for("1.0.0"))["metadata"]["name"]
    p.wait(
        "dev and staging on 1.0.0",
        lambda: p.current("dev") == good and p.current("staging") == good,
        timeout=180,
    )

    pipeline_mod.push(p, BROKEN)
    bad = p.wait(f"Freight for {BROKEN}", lambda: p.freight_for(BROKEN))["metadata"]["name"]

    def failed() -> dict[str, Any] | None:
        ended = [
            x
            for x in _promotions(p, "dev", bad)
            if (x.get("status") or {}).get("phase") in ("Failed", "Errored")
        ]
        return ended[0] if ended else None

    promotion = p.wait("dev's promotion of the broken build to fail", failed, timeout=240)
    message = promotion["status"].get("message", "")
    assert "Degraded" in message and "progress deadline" in message, message
    # The Pod is the bed's doing, not a fake: kwok left the container not ready.
    pods = scenario.kubectl(
        p.gitops.bed, "dev", "get", "pods", "-n", f"{p.project}-dev", "-o", "json"
    )
    broken_pods = [
        pod
        for pod in yaml.safe_load(pods)["items"]
        if BROKEN in pod["spec"]["containers"][0]["image"]
    ]
    assert broken_pods and all(
        not s["ready"] for pod in broken_pods for s in pod["status"]["containerStatuses"]
    )

    dev = p.stage("dev")
    assert p.current("dev") == good, "dev stays on the Freight it held"
    assert dev["status"]["lastPromotion"]["status"]["phase"] in ("Failed", "Errored")
    assert not (p.freight_for(BROKEN) or {}).get("status", {}).get("verifiedIn")
    # Not retried by auto-promotion, not taken by staging, prod untouched.
    assert len(_promotions(p, "dev", bad)) == 1
    assert _promotions(p, "staging", bad) == [] and p.current("staging") == good
    prod = [
        x for x in p.kargo("GET", p.ns_path("promotions"))["items"] if x["spec"]["stage"] == "prod"
    ]
    assert prod == [] and p.current("prod") == ""
    assert p.overlay_tag("prod") == "0.0.0" and p.overlay_tag("staging") == "1.0.0"
    assert p.overlay_tag("dev") == BROKEN  # what was tried is in Git; a rollback is a promotion
