"""The API server's /metrics (Argo CD's server port 8083): request and login metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tidegate.testenv import handle, procs, serverproc

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def metered(
    testbed_handle: handle.TestBed, control_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[serverproc.ServerProcess, str]]:
    port = procs.free_port()
    log: Path = tmp_path_factory.mktemp("metered") / "server.log"
    proc = serverproc.ServerProcess(
        testbed_handle, control_namespace, log=log, extra=[f"--metrics-port={port}"]
    ).start()
    try:
        yield proc, f"http://127.0.0.1:{port}/metrics"
    finally:
        proc.stop()


def _by_name(body: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def test_requests_and_logins_are_counted(metered: tuple[serverproc.ServerProcess, str]) -> None:
    proc, url = metered
    token = proc.login()
    with proc.client() as client:
        bad = client.post("/api/v1/session", json={"username": "admin", "password": "wrong"})
        assert bad.status_code == 401
    with proc.client(token=token) as client:
        assert client.get("/api/v1/applications").status_code == 200
        assert client.get("/api/v1/applications/does-not-exist").status_code == 404
    got = _by_name(httpx.get(url, timeout=10).text)
    logins = {labels["status"]: value for labels, value in got["argocd_login_request_total"]}
    assert logins == {"success": 1.0, "failure": 1.0}
    handled = {
        (labels["grpc_service"], labels["grpc_method"], labels["grpc_code"]): value
        for labels, value in got["grpc_server_handled_total"]
    }
    assert handled[("application.ApplicationService", "ListApplications", "OK")] >= 1
    codes = {code for (service, _, code) in handled if service == "application.ApplicationService"}
    assert "NotFound" in codes
    (info,) = got["argocd_info"]
    assert info[0]["version"] and info[1] == 1.0
