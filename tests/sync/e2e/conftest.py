"""Fixtures and helpers for sync operations against the test bed's real ``dev`` cluster.

``dev`` is a fresh :class:`KubeClient` per test whose write requests are recorded (method,
resource, name, request params and body) by :class:`Writes`, which may also run a probe at
the moment a given object is written: that is how the tests assert ordering (wave 1 is sent
only once wave 0 is healthy) with real observations instead of timing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import keys
from tidegate.sync import operation, options, tasks
from tidegate.testenv import handle

WRITE_METHODS = frozenset({"PATCH", "POST", "PUT", "DELETE"})
Probe = Callable[[], Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class Write:
    method: str
    plural: str
    name: str
    params: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def dry_run(self) -> bool:
        return self.params.get("dryRun") == "All" or self.body.get("dryRun") == ["All"]


class Writes:
    """Records every write request a client sends; runs probes when chosen objects are sent.

    ``log`` holds the writes that change the cluster, ``dry_runs`` those sent with
    ``dryRun=All`` (the validation before a sync's first apply, or a dry-run sync), and
    ``everything`` both, in the order sent. Probes run on real writes only.
    """

    def __init__(self, client: kube_client.KubeClient) -> None:
        self.client = client
        self.log: list[Write] = []
        self.dry_runs: list[Write] = []
        self.everything: list[Write] = []
        self.probes: dict[tuple[str, str], Probe] = {}
        self.observed: dict[tuple[str, str], Any] = {}
        self._send = client.request
        client.request = self._request  # type: ignore[method-assign]

    def probe(self, plural: str, name: str, probe: Probe) -> None:
        """Run ``probe`` just before the first write of ``plural/name``; keep what it returns."""
        self.probes[(plural, name)] = probe

    async def _request(self, method: str, path: str, **kw: Any) -> kube_client.Response:
        if method in WRITE_METHODS:
            body = json.loads(kw.get("body") or b"{}")
            parts = path.strip("/").split("/")
            if method == "POST":
                plural, name = parts[-1], str((body.get("metadata") or {}).get("name") or "")
            else:
                plural, name = parts[-2], parts[-1]
            write = Write(method, plural, name, dict(kw.get("params") or {}), body)
            self.everything.append(write)
            if write.dry_run:
                self.dry_runs.append(write)
            else:
                self.log.append(write)
                probe = self.probes.pop((plural, name), None)
                if probe is not None:
                    self.observed[(plural, name)] = await probe()
        return await self._send(method, path, **kw)

    def sent(self, plural: str, name: str, *, methods: frozenset[str] = WRITE_METHODS) -> int:
        return sum(1 for w in self.log if (w.plural, w.name) == (plural, name) and
                   w.method in methods)  # fmt: skip

    def order(self) -> list[str]:
        """``plural/name`` of applies and creates, in the order they were sent."""
        return [f"{w.plural}/{w.name}" for w in self.log if w.method in ("PATCH", "POST", "PUT")]


@pytest.fixture
async def dev(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["dev"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        yield client


@pytest.fixture
def writes(dev: kube_client.KubeClient) -> Writes:
    return Writes(dev)


# -- objects ----------------------------------------------------------------------------------


def annotated(obj: dict[str, Any], **notes: str) -> dict[str, Any]:
    """``obj`` with annotations; keyword ``sync_wave`` -> ``argocd.argoproj.io/sync-wave``."""
    meta = obj["metadata"]
    names = {k: f"argocd.argoproj.io/{k.replace('_', '-')}" for k in notes}
    meta["annotations"] = {**meta.get("annotations", {}), **{names[k]: v for k, v in notes.items()}}
    return obj


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: int = 2) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def job(name: str, *, unschedulable: bool = False, deadline: int | None = None) -> dict[str, Any]:
    """A Job; kwok completes its pod. ``unschedulable`` pins it to a node that does not exist,
    so it never runs; with ``deadline`` the Job controller then fails it (DeadlineExceeded)."""
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "run", "image": "busybox:1.36", "command": ["true"]}],
    }
    if unschedulable:
        pod["nodeSelector"] = {"tidegate.test/no-such-node": "true"}
    spec: dict[str, Any] = {"backoffLimit": 0, "template": {"spec": pod}}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def hook(obj: dict[str, Any], kind: str, delete_policy: str = "") -> dict[str, Any]:
    notes = {"hook": kind}
    if delete_policy:
        notes["hook_delete_policy"] = delete_policy
    return annotated(obj, **notes)


# -- running a sync -----------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """A sync operation's inputs and what it persisted."""

    client: kube_client.KubeClient
    namespace: str
    app: str = dataclasses.field(default_factory=lambda: f"app-{secrets.token_hex(3)}")
    persisted: list[operation.OperationState] = dataclasses.field(default_factory=list)

    def params(
        self,
        *,
        sync_options: Sequence[str] = (),
        prune: bool = False,
        dry_run: bool = False,
        allow_empty: bool = True,
        namespace: str | None = None,
    ) -> tasks.SyncParams:
        return tasks.SyncParams(
            app_name=self.app,
            app_options=options.parse(sync_options, source="test app"),
            prune=prune,
            dry_run=dry_run,
            allow_empty=allow_empty,
            destination_namespace=namespace or self.namespace,
            sync_id=secrets.token_hex(3),
        )

    def live_source(
        self,
        targets: Sequence[Mapping[str, Any]],
        *,
        kinds: Sequence[tuple[str, str]] = (),
        namespace: str = "",
    ) -> operation.ClusterLiveSource:
        return operation.ClusterLiveSource(
            client=self.client,
            app_name=self.app,
            targets=targets,
            kinds=[*kinds, ("", "ConfigMap")],
            namespaces=[namespace or self.namespace],
            poll_interval=0.1,
        )

    async def persist(self, state: operation.OperationState) -> None:
        # Round-trip through the wire form, as a restarted controller reads it back.
        self.persisted.append(operation.OperationState.from_status(state.to_status()))

    async def sync(
        self,
        targets: Sequence[Mapping[str, Any]],
        *,
        within: float = 90.0,
        kinds: Sequence[tuple[str, str]] = (),
        **kw: Any,
    ) -> operation.OperationState:
        """Run one whole operation (``kw``: ``params`` fields and ``run_operation`` args)."""
        param_names = {"sync_options", "prune", "dry_run", "allow_empty", "namespace"}
        params = self.params(**{k: v for k, v in kw.items() if k in param_names})
        extra = {k: v for k, v in kw.items() if k not in param_names}
        source = self.live_source(targets, kinds=kinds, namespace=params.destination_namespace)
        extra.setdefault("persist", self.persist)
        return await asyncio.wait_for(
            operation.run_operation(
                client=self.client,
                targets=targets,
                live_source=source,
                params=params,
                wait_for_change=source.wait_for_change,
                wait_timeout=1.0,
                **extra,
            ),
            within,
        )


@pytest.fixture
def run(dev: kube_client.KubeClient, namespace: str) -> Run:
    return Run(dev, namespace)


def result_of(state: operation.OperationState, kind: str, name: str) -> Any:
    found = [r for r in state.record.results if (r.kind, r.name) == (kind, name)]
    assert len(found) == 1, f"{kind}/{name}: {[r.to_dict() for r in state.record.results]}"
    return found[0]


def key(kind: str, namespace: str, name: str, group: str = "") -> keys.ResourceKey:
    return keys.ResourceKey(group, kind, namespace, name)
