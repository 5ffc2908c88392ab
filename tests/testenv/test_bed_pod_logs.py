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

from tidegate.testenv import binaries, controlplane, handle, podlogs, procs, testbed

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


def _old_style_kwok(directory: Path) -> None:
    """Replace dev's kwok by one started as before the bed served logs (no kubelet endpoint,
    the old node IP), with a node at that old address, as a bed started then has them."""
    state = testbed.State.load(directory)
    assert state is not None
    cluster = state.clusters["dev"]
    procs.stop([cluster.pids["kwok"]], marker=state.marker())
    paths = controlplane.Paths(directory, "dev")
    today = controlplane.kwok_command(binaries.ensure(["kwok"])["kwok"], paths=paths,
                                      stages=directory / "kwok-stages.yaml",
                                      server_port=cluster.kwok_port)  # fmt: skip
    new_flags = ("--node-port=", "--enable-crds=", "--node-ip=")
    before = [a for a in today if not a.startswith(new_flags)] + ["--node-ip=10.240.0.1"]
    cluster.pids["kwok"] = procs.spawn(before, log=paths.log("kwok"))
    state.save()
    with handle.TestBed.open(directory).admin_client("dev") as dev:
        patched = dev.patch(
            f"/api/v1/nodes/{cluster.nodes[0]}/status",
            json={"status": {"addresses": [{"type": "InternalIP", "address": "10.240.0.1"}]}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200, patched.text


def test_up_gives_a_running_bed_of_older_kwoks_pod_logs(tmp_path: Path) -> None:
    directory = tmp_path / "bed"
    try:
        testbed.up(directory, ["dev"], git=False)
        _old_style_kwok(directory)
        testbed.up(directory, ["dev"], git=False)
        bed = handle.TestBed.open(directory)
        with bed.admin_client("dev") as dev:
            node = dev.get("/api/v1/nodes/dev-node-0").json()
            assert node["status"]["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"}]
            made = dev.post("/api/v1/namespaces/default/pods", json=_pod("p", ["main"]))
            assert made.status_code == 201, made.text
            podlogs.serve(dev, "default", {"": tmp_path / "all.log"})
            podlogs.append(tmp_path / "all.log", "served after up")

            def served() -> str:
                resp = dev.get("/api/v1/namespaces/default/pods/p/log")
                return resp.text if resp.status_code == 200 else ""

            assert until(served, within=60) == "served after up\n"
    finally:
        testbed.down(directory)
