"""The render cap end to end: a real ``tidegate server`` allowed one render at a time and no
queue answers a burst of ``managed-resources``/``manifests`` requests with renders and with
503s carrying ``Retry-After`` in Argo CD's error shape, never anything else, and renders again
once the burst is over."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from concurrent import futures

import httpx
import pytest
from tests.api.access_helpers import JSON
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
BURST = 8
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


@pytest.fixture(scope="module")
def server(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[serverproc.ServerProcess]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    extra = ["--render-concurrency=1", "--render-queue=0"]
    proc = serverproc.ServerProcess(testbed_handle, control_namespace, log=log, extra=extra)
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def app_name(
    server: serverproc.ServerProcess,
    token: str,
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    assert testbed_handle.git is not None
    src = tmp_path_factory.mktemp("repo")
    (src / "app").mkdir()
    (src / "app" / "cm.yaml").write_text(CONFIGMAP)
    repo = testbed_handle.git.create_repo(from_dir=src).http_url
    name = f"cap-{secrets.token_hex(3)}"
    dev = testbed_handle.clusters["dev"].server
    app = scenario.application(name, repo_url=repo, path="app", automated=False, server=dev,
                               namespace=name)  # fmt: skip
    with server.client(token=token) as api:
        created = api.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
        assert created.status_code == 200, created.text
    return name


def _burst(server: serverproc.ServerProcess, token: str, name: str) -> list[httpx.Response]:
    paths = [f"/api/v1/applications/{name}/{what}" for what in ("managed-resources", "manifests")]

    def one(i: int) -> httpx.Response:
        with server.client(token=token) as api:
            return api.get(paths[i % 2])

    with futures.ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_a_burst_beyond_the_cap_gets_503_with_retry_after(
    server: serverproc.ServerProcess, token: str, app_name: str
) -> None:
    seen: list[int] = []

    def refused_some() -> bool:
        replies = _burst(server, token, app_name)
        for resp in replies:
            if resp.status_code == 503:
                assert resp.headers["Retry-After"] == "5"
                assert resp.json() == {
                    "error": resp.json()["message"],
                    "code": 14,
                    "message": resp.json()["message"],
                    "details": [],
                }
                assert f"application {app_name}: too many renders" in resp.json()["message"]
            else:
                assert resp.status_code == 200, resp.text
                assert set(resp.json()) & {"items", "manifests"}
            seen.append(resp.status_code)
        return 503 in [r.status_code for r in replies]

    until(refused_some, within=120)
    assert 200 in seen  # the one admitted at a time rendered
    with server.client(token=token) as api:  # the slot is free again
        resp = api.get(f"/api/v1/applications/{app_name}/manifests")
        assert resp.status_code == 200, resp.text
        assert json.loads(resp.json()["manifests"][0])["kind"] == "ConfigMap"
