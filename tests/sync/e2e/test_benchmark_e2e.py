"""Benchmark: a 300-object sync against ``kubectl apply --server-side`` of the same objects.

Both start cold in their own fresh namespace (kubectl with its discovery cache warmed first, as
in real use; Tidegate with a new client, so its discovery and TLS handshakes are counted).
The sync is the whole operation: settle namespaces, list live objects, plan, apply, list
again, see every object synced, finish. Tidegate must take at most 0.9x kubectl's wall time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model.enums import OperationPhase
from tidegate.sync import operation, tasks
from tidegate.testenv import handle

pytestmark = pytest.mark.e2e

OBJECTS = 300
MAX_RATIO = 0.9


def objects() -> list[dict[str, Any]]:
    """150 ConfigMaps, 100 Services, 50 Secrets (kinds that are ready when applied)."""
    out: list[dict[str, Any]] = []
    for i in range(150):
        data = {f"key{j}": f"value-{i}-{j}" * 4 for j in range(8)}
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{i:03d}", "labels": {"bench": "yes"}},
                    "data": data})  # fmt: skip
    for i in range(100):
        out.append({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": f"svc-{i:03d}", "labels": {"bench": "yes"}},
                    "spec": {"selector": {"app": f"a{i}"},
                             "ports": [{"port": 80, "targetPort": 8080}]}})  # fmt: skip
    for i in range(50):
        out.append({"apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": f"secret-{i:03d}"},
                    "stringData": {"password": f"not-a-real-password-{i}"}})  # fmt: skip
    assert len(out) == OBJECTS
    return out


@pytest.fixture
def two_namespaces(testbed_handle: handle.TestBed) -> Iterator[tuple[str, str]]:
    names = (f"t-kubectl-{secrets.token_hex(3)}", f"t-tidegate-{secrets.token_hex(3)}")
    with testbed_handle.admin_client("dev") as client:
        for name in names:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            client.post("/api/v1/namespaces", json=body).raise_for_status()
        yield names
        for name in names:
            client.delete(f"/api/v1/namespaces/{name}")


async def _kubectl(kubeconfig: Path, *args: str) -> float:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is needed for the comparison"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        kubectl, *args, env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    return time.perf_counter() - started


async def _tidegate(kubeconfig: Path, namespace: str, targets: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    cfg = kube_config.from_kubeconfig(kubeconfig)
    async with kube_client.client_for(cfg) as client:
        source = operation.ClusterLiveSource(
            client=client, app_name="bench", targets=targets, namespaces=[namespace]
        )

        async def persist(state: operation.OperationState) -> None:
            state.to_status()  # what a controller would serialise

        state = await operation.run_operation(
            client=client,
            targets=targets,
            live_source=source,
            params=tasks.SyncParams(app_name="bench", destination_namespace=namespace),
            persist=persist,
            wait_for_change=source.wait_for_change,
        )
    elapsed = time.perf_counter() - started
    assert state.phase is OperationPhase.SUCCEEDED, state.message
    assert len(state.record.results) == OBJECTS
    return elapsed


async def test_sync_300_objects_faster_than_kubectl_server_side_apply(
    testbed_handle: handle.TestBed, two_namespaces: tuple[str, str], tmp_path: Path
) -> None:
    kubeconfig = testbed_handle.clusters["dev"].kubeconfig
    kubectl_ns, tidegate_ns = two_namespaces
    manifest = tmp_path / "objects.yaml"
    manifest.write_text(yaml.safe_dump_all(objects()))
    await _kubectl(kubeconfig, "api-resources")  # warm kubectl's discovery cache

    apply = ("apply", "--server-side", "-n", kubectl_ns, "-f", str(manifest))
    kubectl_create = await _kubectl(kubeconfig, *apply)
    ours_create = await _tidegate(kubeconfig, tidegate_ns, objects())
    kubectl_again = await _kubectl(kubeconfig, *apply)
    ours_again = await _tidegate(kubeconfig, tidegate_ns, objects())

    print(
        f"\n{OBJECTS} objects, create: kubectl {kubectl_create:.2f}s, tidegate "
        f"{ours_create:.2f}s ({ours_create / kubectl_create:.2f}x); re-apply: kubectl "
        f"{kubectl_again:.2f}s, tidegate {ours_again:.2f}s ({ours_again / kubectl_again:.2f}x)"
    )
    assert ours_create <= MAX_RATIO * kubectl_create
    assert ours_again <= MAX_RATIO * kubectl_again
