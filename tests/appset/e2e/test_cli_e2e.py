"""``tidegate appset create|get|list|delete`` as a user runs it, against the test bed, with the
controller generating the Applications in-process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tidegate.testenv.wait import eventually

from . import bed
from .test_controller_e2e import seed_set

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent / "tidegate"


async def tidegate(
    env: bed.Env, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    kubeconfig = str(env.bed.clusters["mgmt"].kubeconfig)
    command = [str(BIN), "appset", *args, "--kubeconfig", kubeconfig, "-n", env.namespace]
    # In a thread: the controller runs on this event loop meanwhile.
    return await asyncio.to_thread(
        subprocess.run,
        command,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_create_get_list_delete(env: bed.Env, tmp_path: Path) -> None:
    manifest = seed_set("https://example.invalid/repo.git")
    del manifest["metadata"]["namespace"]  # the seed's is 'argocd': the test's is another
    path = tmp_path / "set.yaml"
    path.write_text(yaml.safe_dump(manifest))

    created = await tidegate(env, "create", "-f", str(path))
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "applicationset.argoproj.io/myapp created"
    again = await tidegate(env, "create", "-f", str(path))
    assert again.returncode == 0 and "unchanged" in again.stdout

    changed = dict(
        manifest, spec={**manifest["spec"], "syncPolicy": {"applicationsSync": "create-only"}}
    )
    path.write_text(yaml.safe_dump(changed))
    refused = await tidegate(env, "create", "-f", str(path))
    assert refused.returncode == 1 and "--upsert" in refused.stderr
    upserted = await tidegate(env, "create", "-f", str(path), "--upsert")
    assert upserted.returncode == 0 and "updated" in upserted.stdout, upserted.stderr

    async def generated() -> bool:
        shown = await tidegate(env, "get", "myapp")
        return (
            shown.returncode == 0
            and "prod-myapp" in shown.stdout
            and "ResourcesUpToDate" in shown.stdout
        )

    await eventually(generated)
    shown = await tidegate(env, "get", "myapp")
    lines = shown.stdout.splitlines()
    header = next(line for line in lines if line.startswith("NAME"))
    assert header.split() == ["NAME", "CLUSTER", "SYNC", "HEALTH", "STEP", "ROLLOUT", "STATUS"]
    row = next(line for line in lines if line.startswith("prod-myapp"))
    assert env.bed.clusters["prod"].server in row and "Unknown" in row

    as_json = await tidegate(env, "get", "myapp", "-o", "json")
    assert json.loads(as_json.stdout)["spec"]["syncPolicy"] == {"applicationsSync": "create-only"}
    listed = await tidegate(env, "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[0].split() == ["NAME", "APPS", "STATUS", "ROLLOUT"]
    assert listed.stdout.splitlines()[1].split()[:3] == ["myapp", "1", "UpToDate"]

    missing = await tidegate(env, "get", "nosuchset")
    assert missing.returncode == 1 and "not found" in missing.stderr
    deleted = await tidegate(env, "delete", "myapp", "--yes")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    gone = await tidegate(env, "delete", "myapp", "--yes")
    assert gone.returncode == 1


async def test_usage_errors_exit_2(env: bed.Env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n")
    result = await tidegate(env, "create", "-f", str(bad))
    assert result.returncode == 2 and "expected an ApplicationSet" in result.stderr
    result = await tidegate(env, "create", "-f", str(tmp_path / "absent.yaml"))
    assert result.returncode == 2
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: x}\n"
        "spec: {generators: [], template: {}, strategy: {type: RollingSync}}\n"
    )
    result = await tidegate(env, "create", "-f", str(invalid))
    assert result.returncode == 2 and "rollingSync" in result.stderr, result.stderr
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(yaml.safe_dump(seed_set("https://example.invalid/r.git")))
    result = await tidegate(env, "create", "-f", str(elsewhere))  # namespace 'argocd'
    assert result.returncode == 2 and "not the control namespace" in result.stderr
    result = await tidegate(env, "get")
    assert result.returncode == 2
