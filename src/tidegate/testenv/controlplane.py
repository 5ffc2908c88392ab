"""One local Kubernetes control plane: the command lines of its processes and its readiness.

A cluster is a kube-apiserver (storing under its own prefix of the shared etcd), a
kube-controller-manager, a kube-scheduler and kwok, which plays the kubelets of a few fake nodes
(and their log endpoint: :mod:`tidegate.testenv.podlogs`).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors
from tidegate.testenv import kubeconfig, podlogs, procs

SERVICE_CIDR = "10.96.0.0/16"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


@dataclass(frozen=True)
class Paths:
    """Files of one cluster under the test bed's directory."""

    root: Path
    name: str

    @property
    def dir(self) -> Path:
        return self.root / "clusters" / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.root / f"{self.name}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.dir / f"{component}.log"


def etcd_command(etcd: Path, *, data_dir: Path, port: int, peer_port: int) -> list[str]:
    client = f"http://127.0.0.1:{port}"
    peer = f"http://127.0.0.1:{peer_port}"
    return [
        str(etcd),
        "--name=tidegate",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=tidegate={peer}",
        "--unsafe-no-fsync=true",
        "--log-level=warn",
        "--quota-backend-bytes=8589934592",
        "--auto-compaction-mode=periodic",
        "--auto-compaction-retention=5m",
    ]


def apiserver_command(
    binary: Path, *, name: str, pki: Path, etcd_port: int, port: int
) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        f"--etcd-prefix=/registry-{name}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={pki / f'apiserver-{name}.crt'}",
        f"--tls-private-key-file={pki / f'apiserver-{name}.key'}",
        f"--client-ca-file={pki / 'ca.crt'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--endpoint-reconciler-type=none",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki / 'sa.pub'}",
        f"--service-account-signing-key-file={pki / 'sa.key'}",
        "--allow-privileged=true",
        "--profiling=false",
        "--enable-priority-and-fairness=false",
        "--max-requests-inflight=2000",
        "--max-mutating-requests-inflight=1000",
        "--v=1",
    ]


def controller_manager_command(binary: Path, *, paths: Paths, pki: Path) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={paths.dir / 'components.kubeconfig'}",
        "--secure-port=0",
        "--leader-elect=false",
        "--use-service-account-credentials=true",
        "--controllers=*,-nodeipam",
        f"--service-account-private-key-file={pki / 'sa.key'}",
        f"--root-ca-file={pki / 'ca.crt'}",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={pki / 'ca.key'}",
        f"--cluster-name={paths.name}",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--concurrent-deployment-syncs=10",
        "--concurrent-replicaset-syncs=10",
        "--concurrent-gc-syncs=20",
        "--profiling=false",
        "--v=1",
    ]


def scheduler_command(binary: Path, *, paths: Paths) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={paths.dir / 'components.kubeconfig'}",
        f"--authentication-kubeconfig={paths.dir / 'components.kubeconfig'}",
        f"--authorization-kubeconfig={paths.dir / 'components.kubeconfig'}",
        "--secure-port=0",
        "--leader-elect=false",
        "--kube-api-qps=200",
        "--kube-api-burst=400",
        "--profiling=false",
        "--v=1",
    ]


def kwok_command(binary: Path, *, paths: Paths, stages: Path, server_port: int) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={paths.dir / 'components.kubeconfig'}",
        f"--config={stages}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
        "--node-lease-duration-seconds=40",
        f"--server-address=127.0.0.1:{server_port}",
        "--cidr=10.244.0.1/16",
        # the nodes' kubelet endpoint is kwok's server: the API server reads pod logs there
        f"--node-ip={podlogs.NODE_IP}",
        f"--node-port={server_port}",
        podlogs.ENABLE_CRDS_FLAG,
    ]


def node_manifest(name: str) -> dict[str, Any]:
    """A fake Node that kwok manages (it fills in the status and keeps the lease fresh)."""
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "250"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def admin_client(creds: kubeconfig.Credentials, *, timeout: float = 5.0) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(creds.ca_cert))
    context.load_cert_chain(str(creds.client_cert), str(creds.client_key))
    return httpx.Client(base_url=creds.server, verify=context, timeout=timeout)


def wait_ready(
    client: httpx.Client,
    *,
    name: str,
    nodes: list[str],
    log: Path,
    deadline: float,
    alive: Any = None,
) -> None:
    """Return when ``/readyz`` answers ok, ``nodes`` are Ready and the default SA exists."""
    poll(
        lambda: readyz(client),
        what=f"cluster {name}: kube-apiserver /readyz",
        log=log,
        deadline=deadline,
        alive=alive,
    )
    for node in nodes:
        _create_if_missing(client, "/api/v1/nodes", node_manifest(node))
    poll(
        lambda: _nodes_ready(client, nodes),
        what=f"cluster {name}: nodes {', '.join(nodes)} Ready",
        log=log.with_name("kwok.log"),
        deadline=deadline,
        alive=None,
    )
    for node in nodes:
        podlogs.publish_kubelet(client, node)
    poll(
        lambda: client.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200,
        what=f"cluster {name}: default ServiceAccount",
        log=log.with_name("kube-controller-manager.log"),
        deadline=deadline,
        alive=None,
    )


def readyz(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def _create_if_missing(client: httpx.Client, path: str, obj: dict[str, Any]) -> None:
    resp = client.post(path, json=obj)
    if resp.status_code not in (200, 201, 409):
        raise errors.TestEnvError(f"creating {obj['kind']} {obj['metadata']['name']}: {resp.text}")


def nodes_ready(client: httpx.Client) -> int:
    resp = client.get("/api/v1/nodes")
    if resp.status_code != 200:
        return 0
    count = 0
    for node in resp.json().get("items", []):
        for cond in node.get("status", {}).get("conditions", []) or []:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                count += 1
    return count


def _nodes_ready(client: httpx.Client, nodes: list[str]) -> bool:
    try:
        return nodes_ready(client) >= len(nodes)
    except httpx.HTTPError:
        return False


def poll(check: Any, *, what: str, log: Path, deadline: float, alive: Any) -> None:
    while True:
        if check():
            return
        if alive is not None and not alive():
            raise errors.TestEnvError(
                f"{what}: the process exited; last log lines:\n{procs.tail(log)}\nfull log: {log}"
            )
        if time.monotonic() > deadline:
            raise errors.TestEnvError(
                f"timed out waiting for {what}; last log lines:\n{procs.tail(log)}\nfull log: {log}"
            )
        time.sleep(0.1)
