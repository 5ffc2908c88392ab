"""The per-app memo of diffs and health (controller/memo.py): a no-op pass reuses the last
verdicts, and every input that changes (desired object, live object, prediction, ignore rules,
health checks) gives a fresh verdict, never a stale one."""

from __future__ import annotations

import copy
import pathlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from tidegate import render, sources
from tidegate.controller import compare as cmp
from tidegate.controller import memo as resource_memo
from tidegate.diff import ignore
from tidegate.health import registry as health_registry
from tidegate.model.enums import HealthStatusCode
from tidegate.model.keys import ResourceKey

KEY = ResourceKey("", "ConfigMap", "ns", "c")
DEPLOY = ResourceKey("apps", "Deployment", "ns", "web")


@pytest.fixture
async def deps(tmp_path: pathlib.Path) -> AsyncIterator[cmp.CompareDeps]:
    made = cmp.CompareDeps(
        repos=sources.RepoCache(tmp_path),
        render_cache=render.RenderCache(),
        repo_secrets=lambda: (),
    )
    yield made
    await made.jq.aclose()


def configmap(version: str = "1", uid: str = "u1", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns", "uid": uid, "resourceVersion": version},
        "data": data,
    }


def desired(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns"},
        "data": data,
    }


async def verdict(
    deps: cmp.CompareDeps,
    memo: resource_memo.ResourceMemo,
    want: dict[str, Any] | None,
    live: dict[str, Any] | None,
    predicted: dict[str, Any] | None = None,
    rules: Sequence[ignore.IgnoreRule] = (),
) -> bool:
    """One pass over one resource: whether it is modified."""
    memo.begin()
    found = await cmp.diff_resources([(KEY, want, live, predicted)], rules, deps=deps, memo=memo)
    memo.end()
    return found[KEY][0].modified


async def test_a_pass_with_the_same_inputs_reuses_the_last_diff(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    live = configmap(x="1")
    memo.begin()
    first = await cmp.diff_resources([(KEY, desired(x="1"), live, None)], (), deps=deps, memo=memo)
    memo.end()
    memo.begin()
    again = await cmp.diff_resources([(KEY, desired(x="1"), live, None)], (), deps=deps, memo=memo)
    memo.end()
    assert again[KEY][0] is first[KEY][0]
    assert (memo.hits, memo.misses) == (1, 1)


async def test_a_changed_desired_object_is_diffed_again(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    live = configmap(x="1")
    assert await verdict(deps, memo, desired(x="1"), live) is False
    assert await verdict(deps, memo, desired(x="2"), live) is True  # a new commit


async def test_a_new_resource_version_of_the_live_object_is_diffed_again(
    deps: cmp.CompareDeps,
) -> None:
    memo = resource_memo.ResourceMemo()
    assert await verdict(deps, memo, desired(x="1"), configmap("1", x="1")) is False
    assert await verdict(deps, memo, desired(x="1"), configmap("2", x="edited")) is True


async def test_a_recreated_live_object_is_diffed_again_whatever_its_resource_version(
    deps: cmp.CompareDeps,
) -> None:
    memo = resource_memo.ResourceMemo()
    assert await verdict(deps, memo, desired(x="1"), configmap("7", "u1", x="1")) is False
    assert await verdict(deps, memo, desired(x="1"), configmap("7", "u2", x="other")) is True


async def test_a_new_prediction_is_diffed_again(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    want, live = desired(x="1"), configmap(x="1")
    assert await verdict(deps, memo, want, live, predicted=configmap(x="1")) is False
    # The same desired and live objects; a new dry run answers differently (a webhook changed).
    assert await verdict(deps, memo, want, live, predicted=configmap(x="mutated")) is True


async def test_changed_ignore_rules_are_applied_at_once(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    want, live = desired(x="1"), configmap(x="drifted")
    assert await verdict(deps, memo, want, live) is True
    rules = ignore.rules_from_specs([{"kind": "ConfigMap", "jsonPointers": ["/data/x"]}])
    assert await verdict(deps, memo, want, live, rules=rules) is False  # ignoreDifferences added
    assert await verdict(deps, memo, want, live) is True  # and removed again


async def test_a_pruned_object_is_remembered_by_its_live_identity(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    live = configmap(x="1")
    memo.begin()
    first = await cmp.diff_resources([(KEY, None, live, None)], (), deps=deps, memo=memo)
    memo.end()
    assert first[KEY][0].modified is True
    assert await verdict(deps, memo, desired(x="1"), live) is False  # Git has it again


async def test_a_live_object_without_uid_or_resource_version_is_never_remembered(
    deps: cmp.CompareDeps,
) -> None:
    memo = resource_memo.ResourceMemo()
    live = configmap(x="1")
    del live["metadata"]["resourceVersion"]
    assert await verdict(deps, memo, desired(x="1"), live) is False
    live["data"]["x"] = "2"  # same (absent) version: nothing tells the memo it changed
    assert await verdict(deps, memo, desired(x="1"), live) is True
    assert memo.hits == 0


async def test_resources_a_pass_did_not_compare_are_forgotten(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    await verdict(deps, memo, desired(x="1"), configmap(x="1"))
    assert len(memo) == 1
    memo.begin()
    memo.end()
    assert len(memo) == 0


async def test_a_shared_diff_is_not_changed_by_the_next_pass(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    live = configmap(x="1")
    memo.begin()
    first = await cmp.diff_resources([(KEY, desired(x="2"), live, None)], (), deps=deps, memo=memo)
    memo.end()
    shown = copy.deepcopy(first[KEY][0])
    await verdict(deps, memo, desired(x="2"), live)
    assert first[KEY][0] == shown


def deployment(version: str, ready: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "ns", "uid": "d1", "resourceVersion": version,
            "generation": 1,
        },
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
            "readyReplicas": ready, "availableReplicas": ready,
        },
    }  # fmt: skip


def assess(
    memo: resource_memo.ResourceMemo, deps: cmp.CompareDeps, live: dict[str, Any]
) -> HealthStatusCode | None:
    memo.begin()
    found = cmp.assess_health(DEPLOY, live, memo=memo, deps=deps)
    memo.end()
    return found.status if found is not None else None


async def test_health_follows_the_live_resource_version(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    assert assess(memo, deps, deployment("1", 0)) is HealthStatusCode.PROGRESSING
    assert assess(memo, deps, deployment("1", 0)) is HealthStatusCode.PROGRESSING
    assert memo.hits == 1
    assert assess(memo, deps, deployment("2", 1)) is HealthStatusCode.HEALTHY


async def test_new_health_checks_from_argocd_cm_apply_at_once(deps: cmp.CompareDeps) -> None:
    memo = resource_memo.ResourceMemo()
    live = deployment("1", 1)
    assert assess(memo, deps, live) is HealthStatusCode.HEALTHY
    deps.health_checks = health_registry.HealthChecks(builtin=False)  # argocd-cm changed
    assert assess(memo, deps, live) is None  # no check applies any more
    deps.health_checks = health_registry.HealthChecks.from_argocd_cm(
        {
            "resource.customizations.health.apps_Deployment": (
                'hs = {}\nhs.status = "Degraded"\nhs.message = "custom"\nreturn hs'
            )
        }
    )
    assert assess(memo, deps, live) is HealthStatusCode.DEGRADED
    assert assess(memo, deps, live) is HealthStatusCode.DEGRADED  # custom checks: every pass
    assert memo.hits == 0


def test_whether_a_source_path_holds_a_chart_is_answered_once_per_tree(
    deps: cmp.CompareDeps, tmp_path: pathlib.Path
) -> None:
    tree = tmp_path / "tree"
    (tree / "chart").mkdir(parents=True)
    (tree / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tree / "plain").mkdir()
    (tree / "plain" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    assert deps.is_chart(tree, "chart") is True
    assert deps.is_chart(tree, "plain") is False
    (tree / "chart" / "Chart.yaml").unlink()  # a checkout never changes: the answer stands
    assert deps.is_chart(tree, "chart") is True
