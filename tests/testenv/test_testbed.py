"""The test bed itself, end to end: real control planes, kwok nodes, the CLI's up/status/down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tidegate.testenv import handle, procs, testbed

TIDEGATE = [sys.executable, "-m", "tidegate"]


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    kubectl = Path(sys.executable).with_name("kubectl")
    result = subprocess.run(
        [str(kubectl), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait(check: Any, *, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_every_cluster_is_ready_with_kwok_nodes(testbed_handle: handle.TestBed) -> None:
    assert set(testbed_handle.clusters) >= set(testbed.DEFAULT_CLUSTERS)
    for name, cluster in testbed_handle.clusters.items():
        nodes = json.loads(_kubectl(cluster.kubeconfig, "get", "nodes", "-o", "json"))["items"]
        ready = [
            n
            for n in nodes
            if any(
                c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"]
            )
        ]
        assert len(ready) >= testbed.NODES_PER_CLUSTER, name
        version = json.loads(_kubectl(cluster.kubeconfig, "version", "-o", "json"))
        assert version["serverVersion"]["gitVersion"].startswith("v1."), version


def test_merged_kubeconfig_has_a_context_per_cluster(testbed_handle: handle.TestBed) -> None:
    config = yaml.safe_load(testbed_handle.kubeconfig.read_text())
    contexts = {c["name"] for c in config["contexts"]}
    assert contexts >= set(testbed.DEFAULT_CLUSTERS)
    out = _kubectl(
        testbed_handle.kubeconfig, "--context", "staging", "get", "ns", "default", "-o", "name"
    )
    assert out.strip() == "namespace/default"
    # The CA is pinned: each cluster entry carries certificate-authority-data, none is insecure.
    for cluster in config["clusters"]:
        assert cluster["cluster"]["certificate-authority-data"]
        assert not cluster["cluster"].get("insecure-skip-tls-verify")


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox}]
"""


def test_deployment_becomes_available_and_job_completes(
    testbed_handle: handle.TestBed, namespace: str
) -> None:
    kubeconfig = testbed_handle.clusters["dev"].kubeconfig
    _kubectl(kubeconfig, "-n", namespace, "apply", "-f", "-", stdin=DEPLOYMENT + "---\n" + JOB)
    with testbed_handle.admin_client("dev") as client:

        def available() -> bool:
            dep = client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/web").json()
            conds = dep.get("status", {}).get("conditions", [])
            return dep.get("status", {}).get("availableReplicas") == 3 and any(
                c["type"] == "Available" and c["status"] == "True" for c in conds
            )

        _wait(available, timeout=30, what="Deployment web Available with 3 replicas")
        pods = client.get(
            f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=web"}
        ).json()["items"]
        assert len(pods) == 3
        assert all(p["status"]["phase"] == "Running" for p in pods)
        assert all(p["spec"]["nodeName"].startswith("dev-node-") for p in pods)

        def complete() -> bool:
            job = client.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/once").json()
            return any(
                c["type"] == "Complete" and c["status"] == "True"
                for c in job.get("status", {}).get("conditions", []) or []
            )

        _wait(complete, timeout=30, what="Job once Complete")

        # Deletion finishes: foreground deletion of the Deployment removes its pods too
        # (garbage collector in kube-controller-manager, kwok finishes the pod deletions).
        client.request(
            "DELETE",
            f"/apis/apps/v1/namespaces/{namespace}/deployments/web",
            json={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
        )
        _wait(
            lambda: (
                not client.get(
                    f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=web"}
                ).json()["items"]
            ),
            timeout=30,
            what="pods of the deleted Deployment to be gone",
        )


def test_git_server_serves_a_created_repo(testbed_handle: handle.TestBed, tmp_path: Path) -> None:
    assert testbed_handle.git is not None
    source = tmp_path / "src"
    (source / "apps").mkdir(parents=True)
    (source / "apps" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    repo = testbed_handle.git.create_repo(from_dir=source)
    work = testbed_handle.git.working_copy(repo, tmp_path / "clone")
    assert (tmp_path / "clone" / "apps" / "cm.yaml").read_text().startswith("apiVersion")
    assert len(work.head()) == 40


def _tidegate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TIDEGATE, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and procs.alive(int(entry.name), marker):
            found.append(int(entry.name))
    return [p for p in found if p != os.getpid()]


def test_cli_up_is_idempotent_and_down_leaves_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "bed"
    first = _tidegate(
        "testenv", "up", "--clusters", "solo", "--dir", str(directory), "--no-git", "-o", "json"
    )
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert [c["name"] for c in report["clusters"]] == ["solo"]
    assert report["clusters"][0]["readyNodes"] >= 1
    pids = _processes_mentioning(str(directory))
    assert len(pids) >= 5  # etcd, apiserver, controller-manager, scheduler, kwok

    again = _tidegate(
        "testenv", "up", "--clusters", "solo", "--dir", str(directory), "--no-git", "-o", "json"
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["clusters"][0]["server"] == report["clusters"][0]["server"]
    assert sorted(_processes_mentioning(str(directory))) == sorted(pids)

    status = _tidegate("testenv", "status", "--dir", str(directory))
    assert status.returncode == 0 and "solo" in status.stdout

    down = _tidegate("testenv", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert _processes_mentioning(str(directory)) == []
    assert not directory.exists()
    assert _tidegate("testenv", "status", "--dir", str(directory)).returncode == 1


def test_stale_state_from_a_crashed_run_is_cleaned_up(tmp_path: Path) -> None:
    directory = tmp_path / "bed"
    state = testbed.up(directory, ["crash"], git=False)
    old_server = state.clusters["crash"].server
    # Simulate a crash: kill every process without telling the test bed.
    for pid in _processes_mentioning(str(directory)):
        os.kill(pid, 9)
    _wait(lambda: not _processes_mentioning(str(directory)), timeout=10, what="processes to die")
    messages: list[str] = []
    state = testbed.up(directory, ["crash"], git=False, progress=messages.append)
    try:
        assert any("stale" in m for m in messages), messages
        assert all(procs.alive(p) for p in state.clusters["crash"].pids.values())
        assert state.clusters["crash"].server != old_server or procs.alive(state.etcd_pid)
    finally:
        testbed.down(directory)
    assert _processes_mentioning(str(directory)) == []
