"""A tiny in-memory stand-in for a cluster, for the planner's unit tests only: it applies a
plan's ReplicaSet writes and (when told) makes every pod available at once."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from tidegate.rollouts import plan as plan_mod
from tidegate.rollouts import world

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def rollout(strategy: dict[str, Any], *, replicas: int = 5, image: str = "v1") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 1},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            "strategy": strategy,
        },
    }


class Cluster:
    def __init__(self, obj: dict[str, Any], *, services: tuple[str, ...] = ()) -> None:
        self.rollout = obj
        self.sets: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {
            n: {"metadata": {"name": n}, "spec": {"selector": {"app": "web"}}} for n in services
        }
        self.traffic: dict[str, dict[str, Any]] = {}
        self.runs: list[dict[str, Any]] = []
        self.templates: dict[tuple[str, bool], dict[str, Any]] = {}
        self.now = T0
        self.last: plan_mod.Plan | None = None

    def set_image(self, image: str) -> None:
        self.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self.rollout["metadata"]["generation"] += 1

    def step(self, *, ready: bool = True) -> plan_mod.Plan:
        w = world.World(
            rollout=copy.deepcopy(self.rollout),
            replica_sets=[copy.deepcopy(rs) for rs in self.sets.values()],
            now=self.now,
            services=dict(self.services),
            traffic=dict(self.traffic),
            templates=self.templates,
            runs=list(self.runs),
        )
        result = plan_mod.plan(w)
        self.last = result
        ctx = result.context
        if ctx is not None:
            for rs in ctx.create:
                self.sets[rs["metadata"]["name"]] = copy.deepcopy(rs)
            for name, count in ctx.scales.items():
                self.sets[name]["spec"]["replicas"] = count
            for name, notes in ctx.annotations.items():
                ann = self.sets[name]["metadata"].setdefault("annotations", {})
                for k, v in notes.items():
                    if v is None:
                        ann.pop(k, None)
                    else:
                        ann[k] = v
            for name in ctx.deletes:
                del self.sets[name]
            for svc, pod_hash in ctx.selectors.items():
                self.services[svc]["spec"]["selector"]["rollouts-pod-template-hash"] = pod_hash
            for run in ctx.runs:
                self.runs.append(run)
            for obj in ctx.apply:
                self.traffic["Ingress/" + obj["metadata"]["name"]] = obj
        self.rollout["status"] = result.status
        if ready:
            self.settle()
        return result

    def settle(self) -> None:
        for rs in self.sets.values():
            n = rs["spec"]["replicas"]
            rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}

    def run_until_stable(self, limit: int = 30) -> None:
        """Step until a pass writes nothing (a pause or the end)."""
        for _ in range(limit):
            before = (copy.deepcopy(self.sets), copy.deepcopy(self.rollout.get("status")))
            self.step()
            if (self.sets, self.rollout.get("status")) == before:
                return
        raise AssertionError("no fixed point")

    def counts(self) -> dict[str, int]:
        """Replicas by image."""
        out: dict[str, int] = {}
        for rs in self.sets.values():
            image = rs["spec"]["template"]["spec"]["containers"][0]["image"]
            if rs["spec"]["replicas"]:
                out[image] = out.get(image, 0) + rs["spec"]["replicas"]
        return out

    @property
    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.rollout["status"]
        return status
