"""The store holds 10,000 realistic objects well under the controller's memory budget."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import msgspec

from tidegate.live import store as live_store

BUDGET_MIB = 120  # the whole controller must stay under ~400 MiB with 10,000 objects


def pod(i: int) -> dict[str, Any]:
    """A Pod as the API returns it (with managedFields and status), about 4 KB of JSON."""
    name = f"web-{i // 10}-{i:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": f"ns-{i % 50}",
            "uid": f"00000000-0000-0000-0000-{i:012d}",
            "resourceVersion": str(1000 + i),
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": {"app": "web", "pod-template-hash": "5d4f8c7b9"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"web-{i // 10}",
                    "uid": f"rs-{i // 10}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": "2025-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}}}},
                    },
                },
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                    "volumeMounts": [
                        {
                            "name": "kube-api-access",
                            "readOnly": True,
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        }
                    ],
                }
            ],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "nodeName": "kwok-node-0",
            "serviceAccountName": "default",
            "schedulerName": "default-scheduler",
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "volumes": [
                {
                    "name": "kube-api-access",
                    "projected": {
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                        ]
                    },
                }
            ],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.{i // 250}.{i % 250}",
            "qosClass": "Burstable",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": "2025-01-01T00:00:01Z"}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": True,
                    "restartCount": 0,
                    "image": "nginx:1.27",
                    "imageID": "",
                    "started": True,
                    "state": {"running": {"startedAt": "2025-01-01T00:00:01Z"}},
                }
            ],
        },
    }


def test_ten_thousand_objects_fit_the_budget() -> None:
    # Decode with msgspec as the watch does (it shares short dict keys between objects).
    raw = [json.dumps(pod(i)).encode() for i in range(10_000)]
    deployments = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"web-{j}",
                "namespace": f"ns-{j % 50}",
                "uid": f"rs-{j}",
                "annotations": {
                    "argocd.argoproj.io/tracking-id": (
                        f"app{j % 20}:apps/ReplicaSet:ns-{j % 50}/web-{j}"
                    )
                },
            },
        }
        for j in range(1000)
    ]
    tracemalloc.start()
    store = live_store.LiveStore()
    for obj in deployments:
        store.upsert(obj)
    for data in raw:
        store.upsert(msgspec.json.decode(data))
    used, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(store) == 11_000
    mib = used / 2**20
    print(f"live store: {len(store)} objects use {mib:.1f} MiB")
    assert mib < BUDGET_MIB
