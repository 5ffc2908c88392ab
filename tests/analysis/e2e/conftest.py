"""Fixtures of the analysis e2e tests: the analysis CRDs on ``dev``, a fresh namespace per test
with its own in-process :class:`AnalysisController` (watching only that namespace, so tests on
the shared bed never see each other's runs), and HTTP endpoints whose answers the test sets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tidegate.analysis import controller, crds, names
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.testenv import handle, wait


class Endpoint:
    """A loopback HTTP server answering every request with ``status`` and ``body``; it keeps
    the headers of the requests it received."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b""
        self.content_type = "application/json"
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.requests.append(dict(self.headers.items()))
                self.send_response(outer.status)
                self.send_header("Content-Type", outer.content_type)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json(self, doc: Any, status: int = 200) -> None:
        self.body, self.status, self.content_type = (
            json.dumps(doc).encode(),
            status,
            "application/json",
        )

    def gauge(self, name: str, value: float) -> None:
        self.body = f"# TYPE {name} gauge\n{name} {value}\n".encode()
        self.status, self.content_type = 200, "text/plain; version=0.0.4"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    ep = Endpoint()
    yield ep
    ep.close()


@pytest.fixture(scope="session")
async def dev(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["dev"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        await install_crds(client)
        yield client


async def install_crds(client: kube_client.KubeClient) -> None:
    """Create the analysis CRDs unless they exist (another suite may own them on the bed)."""
    for crd in crds.crds():
        try:
            await client.create(crd)
        except errors.KubeApiError as exc:
            if not kube_client.already_exists(exc):
                raise
    client.discovery.invalidate()

    async def served() -> bool:
        try:
            await client.resource(names.GROUP, names.RUN_KIND, names.VERSION)
        except errors.KubeError:
            client.discovery.invalidate()
            return False
        return True

    await wait.eventually(served, within=60, every=0.2)


class Bed:
    def __init__(self, client: kube_client.KubeClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def run(self, name: str, metrics: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
        return {
            "apiVersion": names.API_VERSION,
            "kind": names.RUN_KIND,
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": {"metrics": metrics, **spec},
        }

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        return await self.client.create(obj)

    async def get(self, name: str) -> dict[str, Any]:
        return await self.client.get(ResourceKey(names.GROUP, names.RUN_KIND, self.namespace, name))

    async def finished(self, name: str, *, within: float = 60) -> dict[str, Any]:
        """The run once its phase is final."""

        async def done() -> dict[str, Any] | None:
            run = await self.get(name)
            return run if names.completed((run.get("status") or {}).get("phase")) else None

        return await wait.eventually(done, within=within, every=0.1)


@pytest.fixture(scope="session")
async def staging(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["staging"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        await install_crds(client)
        yield client


@contextlib.asynccontextmanager
async def controlled(client: kube_client.KubeClient) -> AsyncIterator[Bed]:
    """A fresh namespace on ``client``'s cluster with its own running AnalysisController."""
    ns = f"an-{secrets.token_hex(4)}"
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    ctl = controller.AnalysisController(client, namespace=ns)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        await wait.eventually(ctl.ready.is_set, within=60)
        yield Bed(client, ns)
    finally:
        stop.set()
        await task
        await client.delete(ResourceKey("", "Namespace", "", ns))


@pytest.fixture
async def bed(dev: kube_client.KubeClient) -> AsyncIterator[Bed]:
    async with controlled(dev) as made:
        yield made


def result_of(run: dict[str, Any], metric: str) -> dict[str, Any]:
    for result in (run.get("status") or {}).get("metricResults") or ():
        if result["name"] == metric:
            return dict(result)
    raise AssertionError(f"no result for metric {metric}: {run.get('status')}")
