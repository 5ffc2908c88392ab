"""Status writes are JSON merge patches, which the API server applies deeply.

A key the new status leaves out survives on the server: a health ``message`` from an outage
stayed on an app that had recovered (found by the fleet e2e test). The comparison status nulls
what it removes, and :mod:`tidegate.controller.status` writes the exact patch from the current
status: what changed, nulls for removed keys at any depth, nothing when nothing changed.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tidegate.controller import appstate, appstatus, status
from tidegate.controller import compare as cmp
from tidegate.health import status as health_status
from tidegate.model import application as model_app
from tidegate.model.enums import HealthStatusCode, SyncStatusCode

OUTAGE = {"status": "Unknown", "message": "cluster 'lost' (https://127.0.0.1:1) is unreachable"}


@pytest.mark.parametrize(
    ("current", "patch", "expected"),
    [
        (  # a null for a key that is not there changes nothing
            {"health": {"status": "Healthy"}},
            {"health": {"status": "Healthy", "message": None}},
            {},
        ),
        (  # the outage message goes, nothing else is sent
            {"health": OUTAGE},
            {"health": {"status": "Healthy", "message": None}},
            {"health": {"status": "Healthy", "message": None}},
        ),
        (  # only what changed, at depth; untouched siblings are not resent
            {"sync": {"status": "Synced", "revision": "a", "comparedTo": {"x": 1}}},
            {"sync": {"status": "OutOfSync", "revision": "a", "comparedTo": {"x": 1}}},
            {"sync": {"status": "OutOfSync"}},
        ),
        (  # a nested key removed (shallow merging kept it on the server before)
            {"sync": {"comparedTo": {"source": {"path": "a", "helm": {"valueFiles": ["v"]}}}}},
            {"sync": {"comparedTo": {"source": {"path": "a", "helm": None}}}},
            {"sync": {"comparedTo": {"source": {"helm": None}}}},
        ),
        (  # lists are replaced whole
            {"resources": [{"name": "a"}, {"name": "b"}]},
            {"resources": [{"name": "a"}]},
            {"resources": [{"name": "a"}]},
        ),
        (  # conditions: one removed, the list written again; timestamps are changes too
            {
                "conditions": [{"type": "ComparisonError", "message": "x"}],
                "reconciledAt": "2026-01-01T00:00:00Z",
            },
            {"conditions": None, "reconciledAt": "2026-01-01T00:00:09Z"},
            {"conditions": None, "reconciledAt": "2026-01-01T00:00:09Z"},
        ),
        (  # keys the patch does not name are left alone (operationState belongs to operations)
            {"operationState": {"phase": "Running"}, "sync": {"status": "Synced"}},
            {"sync": {"status": "Synced"}},
            {},
        ),
        (  # a dict replacing a scalar, and a new key
            {"summary": "old"},
            {"summary": {"images": ["a"]}, "sourceType": "Helm"},
            {"summary": {"images": ["a"]}, "sourceType": "Helm"},
        ),
    ],
    ids=[
        "null of absent key",
        "outage message removed",
        "nested change only",
        "nested key removed",
        "list replaced",
        "condition cleared",
        "other keys untouched",
        "type change and new key",
    ],
)
def test_changes_are_the_exact_merge_patch(
    current: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]
) -> None:
    got = status.changes(current, patch)
    assert got == expected
    # Applied as the API server applies it, the exact patch gives what the full one gives.
    assert status.merged(current, got) == status.merged(current, patch)


def test_only_timestamps() -> None:
    assert status.only_timestamps({"reconciledAt": "t", "observedAt": "t"})
    assert not status.only_timestamps({"reconciledAt": "t", "sync": {"status": "Synced"}})


class Recorder:
    """The API server's side of the writes: merge patches applied deeply."""

    def __init__(self, stored: dict[str, Any]) -> None:
        self.stored = stored
        self.patches: list[dict[str, Any]] = []

    async def patch(self, name: str, patch: Any) -> dict[str, Any]:
        self.patches.append(patch)
        rv = str(len(self.patches) + 10)
        self.stored = status.merged(self.stored, patch) | {
            "metadata": {"name": name, "resourceVersion": rv}
        }
        return self.stored


async def test_writer_skips_unchanged_and_timestamp_only_writes_while_fresh() -> None:
    stored = {"metadata": {"name": "web", "resourceVersion": "1"}, "status": {"health": OUTAGE}}
    recorder = Recorder(stored)
    writer = status.StatusWriter(patch=recorder.patch, resync_seconds=3600)
    state = appstate.AppState("web", stored)
    healthy = {"health": {"status": "Healthy", "message": None}, "reconciledAt": "t1"}
    await writer.write(state, healthy)
    assert recorder.patches == [{"status": healthy}]
    assert recorder.stored["status"] == {"health": {"status": "Healthy"}, "reconciledAt": "t1"}
    await writer.write(state, {**healthy, "reconciledAt": "t2"})  # only a timestamp, fresh
    await writer.write(state, healthy)  # nothing at all
    assert len(recorder.patches) == 1
    state.last_status_write = None  # a refresh someone asked for stamps the time
    await writer.write(state, {**healthy, "reconciledAt": "t3"})
    assert recorder.patches[-1] == {"status": {"reconciledAt": "t3"}}


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        (health_status.healthy(), {"status": "Healthy", "message": None}),
        (
            health_status.HealthStatus(HealthStatusCode.DEGRADED, "deadline exceeded"),
            {"status": "Degraded", "message": "deadline exceeded"},
        ),
    ],
    ids=["no message: null", "message kept"],
)
def test_comparison_status_health(health: health_status.HealthStatus, expected: Any) -> None:
    app = model_app.parse_application(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://git.example/r.git", "path": "web"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            },
        }
    )
    result = cmp.Comparison(
        revisions=("a" * 40,),
        source_types=("Directory",),
        targets=[],
        live={},
        resources=[],
        sync_status=SyncStatusCode.SYNCED,
        health=health,
    )
    status = appstatus.comparison_status(app, result, conditions=None, at="2026-01-01T00:00:00Z")
    assert status["health"] == expected


def _random_value(rng: random.Random, depth: int) -> Any:
    choice = rng.randrange(6 if depth < 3 else 3)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice(["a", "b", 1, True])
    if choice == 2:
        return [rng.choice(["a", "b"]) for _ in range(rng.randrange(3))]
    return {rng.choice("pqrs"): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}


def test_changes_is_the_diff_to_the_merged_status() -> None:
    """The direct computation gives exactly ``diff(current, merged(current, patch))`` (the
    definition) on random nested statuses and patches, nulls and type changes included."""
    rng = random.Random(18)
    for _ in range(3000):
        current = _random_value(rng, 1)
        patch = _random_value(rng, 1)
        if not isinstance(current, dict) or not isinstance(patch, dict):
            continue
        assert status.changes(current, patch) == status.diff(
            current, status.merged(current, patch)
        ), (current, patch)
