"""Container logs on the test bed: kwok plays the kubelet's ``/containerLogs`` endpoint.

The API server answers ``GET .../pods/{pod}/log`` by asking the pod's node: it connects over
HTTPS to the node's ``InternalIP`` and ``status.daemonEndpoints.kubeletEndpoint.Port``
(without ``--kubelet-certificate-authority`` it does not verify the kubelet's certificate).
On the bed each cluster's kwok is that kubelet: it publishes ``127.0.0.1`` and its own server
port on its nodes (``--node-ip``, ``--node-port``), and serves a pod's log from a file named by
a kwok ``ClusterLogs`` (pods selected by namespace and name) or ``Logs`` (one pod) object.

kwok watches those two kinds as custom resources (``--enable-crds``); :func:`install_crds`
defines them on each cluster before kwok starts (minimal definitions of our own whose schema
keeps every field: kwok converts what it reads, and logs and skips an object it cannot).
A test makes a ``ClusterLogs`` for its namespace with :func:`serve` and
writes the lines with :func:`append`: kwok reads the file at each request, and a ``follow``
request sees lines appended later. The file holds CRI log lines (``<RFC 3339 nano time>
stdout F <content>``), so ``sinceSeconds``, ``sinceTime`` and ``timestamps`` work on the times
written there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors

GROUP = "kwok.x-k8s.io"
VERSION = "v1alpha1"
NODE_IP = "127.0.0.1"
KINDS = {"ClusterLogs": ("clusterlogs", "Cluster"), "Logs": ("logs", "Namespaced")}
ENABLE_CRDS_FLAG = "--enable-crds=" + ",".join(KINDS)


def crd(kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of one kwok logs kind (the schema keeps every field)."""
    plural, scope = KINDS[kind]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": plural,
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def install_crds(client: httpx.Client) -> None:
    """Define kwok's ``ClusterLogs`` and ``Logs`` on the cluster (kept when they exist)."""
    for kind in KINDS:
        resp = client.post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd(kind)
        )
        if resp.status_code not in (200, 201, 409):
            raise errors.TestEnvError(f"defining kwok's {kind} resource: {resp.text}")


def publish_kubelet(client: httpx.Client, node: str) -> None:
    """Give a node made before the bed served logs the address kwok listens on (kwok keeps
    an address once set; its port it writes at each heartbeat)."""
    resp = client.get(f"/api/v1/nodes/{node}")
    if resp.status_code != 200:
        return
    addresses = (resp.json().get("status") or {}).get("addresses") or []
    if {"type": "InternalIP", "address": NODE_IP} in addresses:
        return
    patched = client.patch(
        f"/api/v1/nodes/{node}/status",
        json={"status": {"addresses": [{"type": "InternalIP", "address": NODE_IP}]}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    if patched.status_code != 200:
        raise errors.TestEnvError(f"node {node}: setting its kubelet address: {patched.text}")


def cluster_logs(
    name: str,
    namespace: str,
    files: Mapping[str, Path],
    previous: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """A ``ClusterLogs`` serving every pod of ``namespace``: container -> file; the container
    ``""`` is every container without a file of its own. ``previous``: container -> the file
    of its previous instance (what ``?previous=true`` reads)."""
    before = previous or {}
    logs = [
        {
            "logsFile": str(path),
            **({"containers": [container]} if container else {}),
            **({"previousLogsFile": str(before[container])} if container in before else {}),
        }
        for container, path in files.items()
    ]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ClusterLogs",
        "metadata": {"name": name},
        "spec": {"selector": {"matchNamespaces": [namespace]}, "logs": logs},
    }


def serve(
    client: httpx.Client,
    namespace: str,
    files: Mapping[str, Path],
    previous: Mapping[str, Path] | None = None,
) -> str:
    """Serve the logs of ``namespace``'s pods from ``files`` (and ``previous``: see
    :func:`cluster_logs`); returns the ``ClusterLogs`` name (the namespace's: :func:`stop`
    takes it back)."""
    for path in [*files.values(), *(previous or {}).values()]:
        path.touch()
    obj = cluster_logs(namespace, namespace, files, previous)
    resp = client.post(f"/apis/{GROUP}/{VERSION}/clusterlogs", json=obj)
    if resp.status_code != 201:
        raise errors.TestEnvError(f"ClusterLogs {namespace}: {resp.text}")
    return namespace


def stop(client: httpx.Client, name: str) -> None:
    client.delete(f"/apis/{GROUP}/{VERSION}/clusterlogs/{name}")


def cri_line(content: str, *, at: dt.datetime, stream: str = "stdout") -> str:
    """One line of a CRI container log file, as the kubelet reads it."""
    stamp = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return f"{stamp} {stream} F {content}\n"


def append(path: Path, *lines: str, at: dt.datetime | None = None) -> None:
    """Append ``lines`` to a log file, stamped ``at`` (default: now)."""
    when = at or dt.datetime.now(dt.UTC)
    with path.open("a", encoding="utf-8") as out:
        out.writelines(cri_line(line, at=when) for line in lines)
