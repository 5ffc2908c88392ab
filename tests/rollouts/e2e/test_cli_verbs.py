"""``tidegate rollout`` verbs against the standalone controller on dev: set image starts a
canary, list/get show it, undo goes back to the previous template, pause and promote,
restart replaces every pod, and a missing Rollout or container exits 1 naming it."""

from __future__ import annotations

from typing import Any

import pytest
from tests.rollouts.e2e.conftest import Standalone, rollout_manifest

from tidegate.testenv import wait

pytestmark = pytest.mark.e2e

IMAGE = "registry.invalid/cli"


def _pods(s: Standalone) -> set[str]:
    items = (s.get(f"/api/v1/namespaces/{s.ns}/pods") or {}).get("items") or []
    return {p["metadata"]["name"] for p in items if not p["metadata"].get("deletionTimestamp")}


async def test_rollout_cli_verbs(standalone: Standalone) -> None:
    s = standalone
    steps = [{"setWeight": 50}, {"pause": {}}]
    s.apply(rollout_manifest("cli", f"{IMAGE}:v1", s.instance, {"canary": {"steps": steps}},
                             replicas=2))  # fmt: skip
    await wait.eventually(lambda: s.status("cli").get("phase") == "Healthy", within=60)

    done = s.cli("set", "image", "cli", f"cli={IMAGE}:v2")
    assert done.returncode == 0, done.stderr
    await wait.eventually(lambda: s.status("cli").get("phase") == "Paused", within=60)
    [row] = s.cli_json("list")
    assert row["metadata"]["name"] == "cli"
    info: dict[str, Any] = s.cli_json("get", "cli")
    assert (info["status"], info["step"], info["setWeight"]) == ("Paused", "1/2", 50)
    assert {i["image"]: i["info"] for i in info["images"]} == {
        f"{IMAGE}:v2": ["canary"],
        f"{IMAGE}:v1": ["stable"],
    }
    table = s.cli("get", "cli")
    assert "Status:          ॥ Paused" in table.stdout and "ReplicaSet" in table.stdout

    missing = s.cli("set", "image", "cli", f"nope={IMAGE}:v3")
    assert missing.returncode == 1 and "unable to find container named 'nope'" in missing.stderr
    gone = s.cli("promote", "no-such-rollout")
    assert gone.returncode == 1 and "no-such-rollout" in gone.stderr

    # undo: back to v1's template, which is the stable one: Healthy at once.
    done = s.cli("undo", "cli")
    assert done.returncode == 0, done.stderr
    await wait.eventually(
        lambda: s.status("cli").get("phase") == "Healthy" and s.images() == {f"{IMAGE}:v1": 2},
        within=60,
    )
    # pause then promote: spec.paused set, then cleared.
    assert s.cli("pause", "cli").returncode == 0
    await wait.eventually(lambda: s.status("cli").get("phase") == "Paused", within=30)
    assert s.status("cli")["message"] == "manually paused"
    assert s.cli("promote", "cli").returncode == 0
    await wait.eventually(lambda: s.status("cli").get("phase") == "Healthy", within=30)
    # restart: every pod replaced, then status.restartedAt recorded.
    before = _pods(s)
    assert s.cli("restart", "cli").returncode == 0
    await wait.eventually(lambda: s.status("cli").get("restartedAt"), within=90)
    await wait.eventually(lambda: len(_pods(s)) == 2 and not (_pods(s) & before), within=60)
