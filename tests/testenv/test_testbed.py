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

from tidegate.testenv import gitserver, handle, prereqs, procs, testbed, wait

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
    recorded = (directory / "state.json").read_bytes()

    again = _tidegate(
        "testenv", "up", "--clusters", "solo", "--dir", str(directory), "--no-git", "-o", "json"
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["clusters"][0]["server"] == report["clusters"][0]["server"]
    assert sorted(_processes_mentioning(str(directory))) == sorted(pids)
    # Nothing needed starting, so the state file is left as it was (a bed shared with other
    # versions of Tidegate keeps a file they can read).
    assert (directory / "state.json").read_bytes() == recorded

    status = _tidegate("testenv", "status", "--dir", str(directory))
    assert status.returncode == 0 and "solo" in status.stdout

    down = _tidegate("testenv", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert _processes_mentioning(str(directory)) == []
    assert not directory.exists()
    assert _tidegate("testenv", "status", "--dir", str(directory)).returncode == 1


def _up(
    directory: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], str]:
    """`tidegate testenv up` on one cluster, `dev`, with the git server: (report, stderr)."""
    result = _tidegate(
        "testenv", "up", "--clusters", "dev", "--dir", str(directory), "-o", "json", *extra, env=env
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


async def _kill(directory: Path, pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, 9)
    await wait.eventually(lambda: not any(procs.alive(p, str(directory)) for p in pids))


def _ssh_env(info: gitserver.GitServerInfo) -> dict[str, str]:
    command = (
        f"ssh -F /dev/null -i {info.ssh_private_key_path} -o IdentitiesOnly=yes -o BatchMode=yes"
        f" -o UserKnownHostsFile={info.known_hosts_path} -o StrictHostKeyChecking=yes"
    )
    return {**os.environ, "GIT_SSH_COMMAND": command, "GIT_TERMINAL_PROMPT": "0"}


def _ls_remote(url: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["git", "ls-remote", url], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _configmap(directory: Path, name: str) -> dict[str, Any] | None:
    """The ConfigMap through the merged kubeconfig that clients were given (None if absent)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("kubectl")),
            f"--kubeconfig={directory / 'kubeconfig'}",
            "--context",
            "dev",
            "get",
            "configmap",
            name,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "NotFound" in result.stderr:
        return None
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


async def test_up_restarts_dead_processes_in_place_and_fresh_starts_over(tmp_path: Path) -> None:
    directory = tmp_path / "bed"
    source = tmp_path / "seed"
    source.mkdir()
    (source / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n")
    try:
        first, _ = _up(directory)
        bed = handle.TestBed.open(directory)
        assert bed.git is not None
        old_git = bed.git.info
        with bed.admin_client("dev") as client:
            client.post(
                "/api/v1/namespaces/default/configmaps",
                json={"metadata": {"name": "kept"}, "data": {"k": "v"}},
            ).raise_for_status()
        repo = bed.git.create_repo("kept", from_dir=source)
        assert repo.ssh_url is not None
        heads = _ls_remote(repo.http_url, {**os.environ, **bed.git.client_env()})
        before = testbed.State.load(directory)
        assert before is not None

        # The API server and etcd die: both come back on their ports, with the data.
        await _kill(directory, [before.clusters["dev"].pids["kube-apiserver"], before.etcd_pid])
        second, stderr = _up(directory)
        assert "restarting etcd" in stderr and "restarting cluster dev's kube-apiserver" in stderr
        assert second["clusters"] == first["clusters"]
        assert (_configmap(directory, "kept") or {}).get("data") == {"k": "v"}
        after = testbed.State.load(directory)
        assert after is not None
        assert (after.etcd_port, after.etcd_peer_port) == (before.etcd_port, before.etcd_peer_port)

        # sshd dies under a running git server: SSH serves again, same port, host key and key.
        await _kill(directory, [after.git_sshd_pid])
        _, stderr = _up(directory)
        assert "restarting the git server" in stderr
        assert gitserver.GitServerInfo.load(directory / "git").ssh_base == old_git.ssh_base
        assert _ls_remote(repo.ssh_url, _ssh_env(old_git)) == heads

        # Everything dies (a crash, a reboot): every kind of process is restarted in place.
        await _kill(directory, _processes_mentioning(str(directory)))
        third, stderr = _up(directory)
        for kind in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
            assert kind in stderr, (kind, stderr)
        assert "restarting the git server on port" in stderr
        assert third["clusters"] == first["clusters"] and third["git"] == first["git"] | {
            "pid": third["git"]["pid"],
            "sshd_pid": third["git"]["sshd_pid"],
        }
        restarted = testbed.State.load(directory)
        assert restarted is not None
        assert all(procs.alive(p, str(directory)) for p in restarted.all_pids())
        assert third["clusters"][0]["readyNodes"] == testbed.NODES_PER_CLUSTER
        assert (_configmap(directory, "kept") or {}).get("data") == {"k": "v"}
        # Clients kept what they were given: the old password and the old key still work.
        assert _ls_remote(repo.http_url, {**os.environ, **bed.git.client_env()}) == heads
        assert _ls_remote(repo.ssh_url, _ssh_env(old_git)) == heads

        # --fresh starts over on purpose: a new, empty test bed.
        fresh, stderr = _up(directory, "--fresh")
        assert "--fresh" in stderr
        assert _configmap(directory, "kept") is None
        assert not repo.path.exists()
        assert fresh["git"]["password"] != old_git.password
    finally:
        testbed.down(directory)
    assert _processes_mentioning(str(directory)) == []


def test_a_failed_up_stops_what_it_had_started(tmp_path: Path) -> None:
    """The git server cannot start (its sshd exits at once) after etcd and the control plane
    have: `up` fails naming the cause, and none of its processes is left running."""
    directory = tmp_path / "bed"
    try:
        failed = _tidegate(
            "testenv",
            "up",
            "--clusters",
            "dev",
            "--dir",
            str(directory),
            env={prereqs.override_env("sshd"): "/bin/false"},
        )
        assert failed.returncode == 1
        assert "starting cluster dev" in failed.stderr  # it got that far
        assert "sshd (/bin/false) did not start" in failed.stderr
        assert "stopping what this run started" in failed.stderr
        assert _processes_mentioning(str(directory)) == []
        assert testbed.State.load(directory) is None
        # Nothing stale is in the way of the next attempt.
        report, _ = _up(directory)
        assert report["clusters"][0]["readyNodes"] == testbed.NODES_PER_CLUSTER
    finally:
        testbed.down(directory)
    assert _processes_mentioning(str(directory)) == []
