"""The test bed serves pod logs: the real kube-apiserver's ``pods/log`` reaches kwok, which plays
the kubelet's log endpoint and reads the file a ``ClusterLogs`` names (testenv/podlogs.py).

A failure here is the bed's (kwok's flags, the nodes' kubelet address, the CRDs), not the CLI's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, podlogs

pytestmark = pytest.mark.e2e


def _pod(name: str, containers: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": c, "image": "reg/app:1.0"} for c in containers]},
    }


@pytest.fixture
def dev(testbed_handle: handle.TestBed) -> Iterator[httpx.Client]:
    with testbed_handle.admin_client("dev") as client:
        yield client


def _log(dev: httpx.Client, namespace: str, **params: str) -> str:
    resp = dev.get(f"/api/v1/namespaces/{namespace}/pods/p/log", params=params)
    assert resp.status_code == 200, resp.text
    return resp.text


def test_the_api_server_returns_the_lines_of_the_log_file(
    dev: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    files = {"main": tmp_path / "main.log", "side": tmp_path / "side.log"}
    name = podlogs.serve(dev, namespace, files)
    try:
        made = dev.post(f"/api/v1/namespaces/{namespace}/pods", json=_pod("p", ["main", "side"]))
        assert made.status_code == 201, made.text
        hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        podlogs.append(files["main"], "old one", "old two", at=hour_ago)
        podlogs.append(files["main"], "new three")
        podlogs.append(files["side"], "sidecar line")

        # kwok learns the ClusterLogs through its watch: poll until the log is served
        def served() -> str:
            resp = dev.get(f"/api/v1/namespaces/{namespace}/pods/p/log",
                           params={"container": "main"})  # fmt: skip
            return resp.text if resp.status_code == 200 else ""

        assert until(served, within=60) == "old one\nold two\nnew three\n"
        assert _log(dev, namespace, container="main", tailLines="1") == "new three\n"
        assert _log(dev, namespace, container="main", sinceSeconds="600") == "new three\n"
        assert _log(dev, namespace, container="side") == "sidecar line\n"
        stamped = _log(dev, namespace, container="main", tailLines="1", timestamps="true")
        assert stamped.endswith(" new three\n") and stamped[:4].isdigit(), stamped

        path = f"/api/v1/namespaces/{namespace}/pods/p/log"
        params = {"container": "main", "follow": "true", "tailLines": "1"}
        with dev.stream("GET", path, params=params, timeout=30) as resp:
            assert resp.status_code == 200
            got = resp.iter_lines()
            assert next(got) == "new three"
            podlogs.append(files["main"], "appended while following")
            assert next(got) == "appended while following"
    finally:
        podlogs.stop(dev, name)
