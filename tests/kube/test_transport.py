"""Both transports of ordinary requests (kube/transport.py: httpx2 for commands, aiohttp for
bulk senders) against real local HTTP servers.

Credentials: a bearer token, a token file re-read when the server answers 401 (a rotated
service-account token), an exec plugin run again on 401, basic auth. Faults: a refused
connection, a server that never answers, a connection that breaks in the middle of an answer,
each a ClusterUnreachableError naming the cluster. And a bulk client keeps working when a second
``asyncio.run`` uses it from another event loop.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tidegate import kube
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.testenv import procs
from tidegate.testenv.faultproxy import FaultProxy, Mode

Check = Callable[[str | None], bool]
Serve = Callable[[Check], Awaitable["Server"]]


class Server:
    """A tiny API server: ``GET /api/v1/namespaces/default/configmaps/x`` answers 200 with the
    Authorization header it saw when ``accepts(header)``, else 401."""

    def __init__(self, accepts: Check) -> None:
        self.accepts = accepts
        self.seen: list[str | None] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        self.seen.append(header)
        if not self.accepts(header):
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        return web.json_response(
            {"kind": "ConfigMap", "auth": header, "query": dict(request.query)}
        )


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    runners: list[web.AppRunner] = []

    async def start(accepts: Check) -> Server:
        server = Server(accepts)
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/default/configmaps/x", server.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server.port = runner.addresses[0][1]
        runners.append(runner)
        return server

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture(params=[False, True], ids=["light", "bulk"])
def bulk(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def config_for(server: Server, **auth: Any) -> kube_config.ClusterConfig:
    return kube_config.ClusterConfig(server=f"http://127.0.0.1:{server.port}", name="local", **auth)


async def get_x(config: kube_config.ClusterConfig, bulk: bool) -> dict[str, object]:
    async with kube.client_for(config, bulk=bulk) as client:
        answer = await client.request(
            "GET",
            "/api/v1/namespaces/default/configmaps/x",
            what="get configmap x",
            params={"labelSelector": "a=b,c!=d"},
        )
        return answer.body


async def test_a_bearer_token_is_sent_and_params_are_encoded(serve: Serve, bulk: bool) -> None:
    server = await serve(lambda h: h == "Bearer t0k3n")
    body = await get_x(config_for(server, bearer_token="t0k3n"), bulk)
    assert body["auth"] == "Bearer t0k3n"
    assert body["query"] == {"labelSelector": "a=b,c!=d"}


async def test_basic_auth(serve: Serve, bulk: bool) -> None:
    expected = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    server = await serve(lambda h: h == expected)
    body = await get_x(config_for(server, username="alice", password="s3cret"), bulk)
    assert body["auth"] == expected


async def test_a_rotated_token_file_is_read_again_on_401(
    serve: Serve, tmp_path: Path, bulk: bool
) -> None:
    token = tmp_path / "token"
    token.write_text("old\n")
    current = {"token": "old"}
    server = await serve(lambda h: h == f"Bearer {current['token']}")
    config = config_for(server, token_file=str(token))
    async with kube.client_for(config, bulk=bulk) as client:
        path = "/api/v1/namespaces/default/configmaps/x"
        assert (await client.request("GET", path, what="get x")).body["auth"] == "Bearer old"
        current["token"] = "new"  # the server rotated it; the kubelet writes the new one
        token.write_text("new\n")
        assert (await client.request("GET", path, what="get x")).body["auth"] == "Bearer new"
    assert server.seen == ["Bearer old", "Bearer old", "Bearer new"]


async def test_an_exec_plugin_runs_again_on_401(serve: Serve, tmp_path: Path, bulk: bool) -> None:
    counter = tmp_path / "runs"
    counter.write_text("0")
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, pathlib, sys\n"
        f"p = pathlib.Path({str(counter)!r}); n = int(p.read_text()) + 1; p.write_text(str(n))\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1',"
        " 'kind': 'ExecCredential', 'status': {'token': f'run-{n}'}}))\n"
    )
    current = {"token": "run-1"}
    server = await serve(lambda h: h == f"Bearer {current['token']}")
    provider = kube_config.ExecProvider(command=sys.executable, args=(str(plugin),))
    async with kube.client_for(config_for(server, exec_provider=provider), bulk=bulk) as client:
        path = "/api/v1/namespaces/default/configmaps/x"
        assert (await client.request("GET", path, what="get x")).body["auth"] == "Bearer run-1"
        assert (await client.request("GET", path, what="get x")).body["auth"] == "Bearer run-1"
        current["token"] = "run-2"  # the credential expired
        assert (await client.request("GET", path, what="get x")).body["auth"] == "Bearer run-2"
    assert counter.read_text() == "2"  # once at first, once after the 401
    assert server.seen == ["Bearer run-1"] * 3 + ["Bearer run-2"]


async def test_a_refused_401_is_an_error_naming_the_cluster(serve: Serve, bulk: bool) -> None:
    server = await serve(lambda h: False)
    with pytest.raises(errors.KubeApiError, match="get configmap x") as caught:
        await get_x(config_for(server, bearer_token="wrong"), bulk)
    assert caught.value.code == 401
    assert server.seen == ["Bearer wrong"]  # a static token is not sent twice


async def test_a_refused_connection_is_unreachable(bulk: bool) -> None:
    config = kube_config.ClusterConfig(server=f"https://127.0.0.1:{procs.free_port()}", name="gone")
    with pytest.raises(errors.ClusterUnreachableError, match="cluster gone") as caught:
        await get_x(config, bulk)
    assert "get configmap x" in str(caught.value)


async def test_a_server_that_never_answers_is_unreachable_after_the_timeout(bulk: bool) -> None:
    with FaultProxy(Mode.HANG) as proxy:
        config = kube_config.ClusterConfig(
            server=f"http://127.0.0.1:{proxy.port}", name="hung", timeout=0.5
        )
        with pytest.raises(errors.ClusterUnreachableError, match="cluster hung"):
            await get_x(config, bulk)


def _half_answer_server() -> tuple[int, threading.Thread]:
    """Answers with headers promising 1,000 bytes, sends 10, and closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def run() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b'Content-Length: 1000\r\n\r\n{"kind": "'
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


async def test_an_answer_cut_short_is_unreachable_not_invalid_json(bulk: bool) -> None:
    port, thread = _half_answer_server()
    config = kube_config.ClusterConfig(server=f"http://127.0.0.1:{port}", name="cut")
    with pytest.raises(errors.ClusterUnreachableError, match="cluster cut"):
        await get_x(config, bulk)
    thread.join(timeout=5)


def test_a_bulk_client_serves_two_event_loops() -> None:
    """aiohttp binds a session to its event loop: the bulk transport makes one per loop."""

    async def start() -> tuple[web.AppRunner, int]:
        app = web.Application()

        async def version(_: web.Request) -> web.Response:
            return web.json_response({"gitVersion": json.dumps("v1")})

        app.router.add_get("/version", version)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner, runner.addresses[0][1]

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        client = kube.client_for(
            kube_config.ClusterConfig(server=f"http://127.0.0.1:{port}", name="twice"), bulk=True
        )
        for _ in range(2):  # a CLI command may call asyncio.run more than once
            answer = asyncio.run(client.request("GET", "/version", what="get version"))
            assert answer.body == {"gitVersion": '"v1"'}
        asyncio.run(client.aclose())
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


_IMPORTS = """
import asyncio, sys
from tidegate import kube
from tidegate.kube import config
cfg = config.ClusterConfig(server="http://127.0.0.1:9", name="closed")
async def main(bulk):
    async with kube.client_for(cfg, bulk=bulk) as client:
        try:
            await client.request("GET", "/version", what="get version")
        except Exception:
            pass
asyncio.run(main(sys.argv[1] == "bulk"))
print("aiohttp" in sys.modules)
"""


@pytest.mark.parametrize(("kind", "imported"), [("light", "False"), ("bulk", "True")])
def test_only_a_bulk_client_imports_aiohttp(kind: str, imported: str) -> None:
    """A command's client (light) does not pay aiohttp's import (~80 ms of CPU: the CLI's
    start-up targets, docs/benchmarks.md)."""
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS, kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == imported
