"""Blue-green planning on an in-memory cluster: preview, promotion, delayed scale-down."""

from __future__ import annotations

import datetime

from tests.rollouts.sim import Cluster, rollout

HASH = "rollouts-pod-template-hash"


def bluegreen(**extra: object) -> Cluster:
    strategy = {"blueGreen": {"activeService": "active", "previewService": "preview", **extra}}
    c = Cluster(rollout(strategy, replicas=3), services=("active", "preview"))
    c.run_until_stable()
    return c


def selectors(c: Cluster) -> dict[str, str]:
    return {n: s["spec"]["selector"][HASH] for n, s in c.services.items()}


def test_manual_promotion_switches_active_and_scales_old_down_after_the_delay() -> None:
    c = bluegreen(autoPromotionEnabled=False, scaleDownDelaySeconds=20)
    v1 = c.status["currentPodHash"]
    assert c.status["phase"] == "Healthy"
    assert selectors(c) == {"active": v1, "preview": v1}
    c.set_image("v2")
    c.run_until_stable()
    v2 = c.status["currentPodHash"]
    assert selectors(c) == {"active": v1, "preview": v2}
    assert c.counts() == {"v1": 3, "v2": 3}
    assert c.status["phase"] == "Paused"
    assert c.status["blueGreen"] == {"activeSelector": v1, "previewSelector": v2}
    c.rollout["status"]["pauseConditions"] = None  # promote
    c.run_until_stable()
    assert selectors(c) == {"active": v2, "preview": v2}
    assert c.counts() == {"v1": 3, "v2": 3}  # the old version waits its delay
    c.now += datetime.timedelta(seconds=21)
    c.run_until_stable()
    assert c.counts() == {"v2": 3}
    assert c.status["phase"] == "Healthy"


def test_auto_promotion_seconds_and_preview_replica_count() -> None:
    c = bluegreen(autoPromotionSeconds=30, previewReplicaCount=1, scaleDownDelaySeconds=0)
    v1 = c.status["currentPodHash"]
    c.set_image("v2")
    c.run_until_stable()
    assert c.counts() == {"v1": 3, "v2": 1}
    assert selectors(c)["active"] == v1
    c.now += datetime.timedelta(seconds=31)
    c.run_until_stable()
    assert c.counts() == {"v2": 3}
    assert selectors(c)["active"] == c.status["currentPodHash"]


def test_abort_keeps_active_and_drops_the_preview_after_its_delay() -> None:
    c = bluegreen(autoPromotionEnabled=False, abortScaleDownDelaySeconds=5)
    v1 = c.status["currentPodHash"]
    c.set_image("v2")
    c.run_until_stable()
    c.rollout["status"]["abort"] = True
    c.run_until_stable()
    assert selectors(c) == {"active": v1, "preview": v1}
    assert c.status["phase"] == "Degraded"
    c.now += datetime.timedelta(seconds=6)
    c.run_until_stable()
    assert c.counts() == {"v1": 3}
