"""Canary planning, walked on an in-memory cluster: steps, pauses, promote, abort, retry."""

from __future__ import annotations

import datetime

from tests.rollouts.sim import Cluster, rollout

SEED_STEPS = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 40},
    {"pause": {"duration": 10}},
    {"setWeight": 60},
    {"pause": {"duration": "10s"}},
    {"setWeight": 100},
]


def seed() -> Cluster:
    c = Cluster(rollout({"canary": {"steps": SEED_STEPS}}))
    c.run_until_stable()
    return c


def test_first_version_goes_straight_to_full_size_and_healthy() -> None:
    c = seed()
    assert c.counts() == {"v1": 5}
    assert c.status["phase"] == "Healthy"
    assert c.status["currentStepIndex"] == len(SEED_STEPS)
    assert c.status["stableRS"] == c.status["currentPodHash"]


def test_seed_canary_pauses_at_20_percent_then_walks_to_100() -> None:
    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    assert c.counts() == {"v1": 4, "v2": 1}
    assert c.status["phase"] == "Paused"
    assert c.status["currentStepIndex"] == 1
    assert [p["reason"] for p in c.status["pauseConditions"]] == ["CanaryPauseStep"]
    # promote: what `rollout promote` does (clear the pause conditions)
    c.rollout["status"]["pauseConditions"] = None
    c.run_until_stable()
    assert c.counts() == {"v1": 3, "v2": 2}
    assert c.status["currentStepIndex"] == 3
    assert c.status["phase"] == "Paused"
    c.now += datetime.timedelta(seconds=5)
    c.run_until_stable()
    assert c.status["currentStepIndex"] == 3  # 10 s not over yet
    c.now += datetime.timedelta(seconds=6)
    c.run_until_stable()
    assert c.counts() == {"v1": 2, "v2": 3}
    assert c.status["currentStepIndex"] == 5
    c.now += datetime.timedelta(seconds=11)
    c.run_until_stable()
    assert c.counts() == {"v2": 5}
    assert c.status["phase"] == "Healthy"
    assert c.status["stableRS"] == c.status["currentPodHash"]


def test_abort_restores_stable_and_retry_resumes() -> None:
    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    c.rollout["status"]["abort"] = True
    c.run_until_stable()
    assert c.counts() == {"v1": 5}
    assert c.status["phase"] == "Degraded"
    assert c.status["message"].startswith("RolloutAborted: Rollout aborted update to revision 2")
    assert not c.status.get("pauseConditions")
    c.rollout["status"]["abort"] = False
    c.run_until_stable()
    assert c.counts() == {"v1": 4, "v2": 1}
    assert c.status["phase"] == "Paused"


def test_promote_full_skips_the_remaining_steps() -> None:
    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    c.rollout["status"]["promoteFull"] = True
    c.run_until_stable()
    assert c.counts() == {"v2": 5}
    assert c.status["phase"] == "Healthy"


def test_scaling_respects_max_surge_and_max_unavailable() -> None:
    c = Cluster(rollout({"canary": {"maxSurge": 1, "maxUnavailable": 0, "steps": []}}, replicas=4))
    c.run_until_stable()
    c.set_image("v2")
    seen = []
    for _ in range(20):
        c.step()
        total = sum(rs["spec"]["replicas"] for rs in c.sets.values())
        seen.append(total)
        if c.status["phase"] == "Healthy":
            break
    assert max(seen) <= 5
    assert c.counts() == {"v2": 4}


def test_changing_the_template_mid_rollout_starts_over_at_step_zero() -> None:
    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    c.rollout["status"]["pauseConditions"] = None
    c.run_until_stable()
    assert c.status["currentStepIndex"] == 3
    c.set_image("v3")
    c.run_until_stable()
    assert c.counts() == {"v1": 4, "v3": 1}
    assert c.status["currentStepIndex"] == 1


def test_going_back_to_the_stable_template_is_immediate() -> None:
    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    c.set_image("v1")
    c.run_until_stable()
    assert c.counts() == {"v1": 5}
    assert c.status["phase"] == "Healthy"


def test_services_select_canary_and_stable_pods() -> None:
    c = Cluster(
        rollout(
            {
                "canary": {
                    "canaryService": "web-canary",
                    "stableService": "web-stable",
                    "steps": [{"setWeight": 20}, {"pause": {}}],
                }
            }
        ),
        services=("web-canary", "web-stable"),
    )
    c.run_until_stable()
    c.set_image("v2")
    c.run_until_stable()
    sel = {n: s["spec"]["selector"]["rollouts-pod-template-hash"] for n, s in c.services.items()}
    assert sel == {"web-canary": c.status["currentPodHash"], "web-stable": c.status["stableRS"]}
    assert sel["web-canary"] != sel["web-stable"]


def test_nginx_traffic_routing_weights_the_canary_ingress() -> None:
    c = Cluster(
        rollout(
            {
                "canary": {
                    "canaryService": "web-canary",
                    "stableService": "web-stable",
                    "trafficRouting": {"nginx": {"stableIngress": "web"}},
                    "steps": [{"setWeight": 20}, {"pause": {}}],
                }
            }
        ),
        services=("web-canary", "web-stable"),
    )
    rule = {
        "host": "web.example",
        "http": {
            "paths": [
                {
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {"name": "web-stable", "port": {"number": 80}}},
                }
            ]
        },
    }
    c.traffic["Ingress/web"] = {
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"rules": [rule]},
    }
    c.run_until_stable()
    c.set_image("v2")
    c.run_until_stable()
    canary = c.traffic["Ingress/web-web-canary"]
    assert canary["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/canary": "true",
        "nginx.ingress.kubernetes.io/canary-weight": "20",
    }
    backend = canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert backend == "web-canary"
    # with a router, the stable version keeps full size; the canary is scaled to the weight
    assert c.counts() == {"v1": 5, "v2": 1}
    assert c.status["canary"]["weights"]["canary"]["weight"] == 20


def test_gateway_api_route_weights() -> None:
    from tidegate.rollouts import traffic

    route = {
        "spec": {
            "rules": [
                {
                    "backendRefs": [
                        {"name": "web-stable", "port": 80, "weight": 100},
                        {"name": "web-canary", "port": 80, "weight": 0},
                    ]
                }
            ]
        }
    }
    rules = traffic.route_rules(
        route, stable_service="web-stable", canary_service="web-canary", weight=40
    )
    assert rules is not None
    assert [(r["name"], r["weight"]) for r in rules[0]["backendRefs"]] == [
        ("web-stable", 60),
        ("web-canary", 40),
    ]
    route["spec"]["rules"] = rules
    assert (
        traffic.route_rules(
            route, stable_service="web-stable", canary_service="web-canary", weight=40
        )
        is None
    )


def test_canary_weight_rounding_follows_argo_rollouts() -> None:
    from tidegate.rollouts import replicas

    assert replicas.weighted_counts(5, 20, surge=True) == (1, 4)
    assert replicas.weighted_counts(5, 40, surge=True) == (2, 3)
    assert replicas.weighted_counts(10, 1, surge=True) == (1, 9)  # never 0 for 1-99%
    assert replicas.weighted_counts(4, 99, surge=False) == (3, 1)
    assert replicas.weighted_counts(3, 50, surge=False) == (2, 1)  # a tie picks the canary


def test_undo_to_a_stored_template_finds_its_replica_set() -> None:
    from tidegate.appset import patch as merge
    from tidegate.rollouts import actions, podhash

    c = seed()
    c.set_image("v2")
    c.run_until_stable()
    # the API server stores a ReplicaSet's template with defaults filled in
    for rs in c.sets.values():
        rs["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    [(_, body)] = actions.undo(c.rollout, list(c.sets.values()))
    c.rollout["spec"] = merge.merge_patch(c.rollout["spec"], body["spec"])
    v1 = min(c.sets.values(), key=podhash.revision)
    assert c.rollout["spec"]["template"] == podhash.without_hash(v1["spec"]["template"])
    c.run_until_stable()
    assert len(c.sets) == 2  # no third ReplicaSet: v1's is found by its template
    assert c.counts() == {"v1": 5}
    assert c.status["phase"] == "Healthy"


def test_with_a_router_the_canary_is_not_bounded_by_max_surge() -> None:
    c = Cluster(
        rollout(
            {
                "canary": {
                    "canaryService": "c",
                    "stableService": "s",
                    "trafficRouting": {"nginx": {"stableIngress": "web"}},
                    "steps": [{"setWeight": 75}, {"pause": {}}],
                }
            },
            replicas=4,
        ),
        services=("c", "s"),
    )
    c.traffic["Ingress/web"] = {"metadata": {"name": "web", "namespace": "ns"}, "spec": {}}
    c.run_until_stable()
    c.set_image("v2")
    c.run_until_stable()
    assert c.counts() == {"v1": 4, "v2": 3}
    assert c.status["phase"] == "Paused"
