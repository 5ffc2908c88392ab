"""The pure parts of the bed's pod logs: the CRI lines written, the ClusterLogs asked for, and
kwok's flags that make the nodes' kubelet endpoint kwok's own server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tidegate.testenv import controlplane, podlogs


def test_cri_line_is_a_utc_nanosecond_stamp_stream_and_full_tag() -> None:
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert (
        podlogs.cri_line("hi there", at=at) == "2026-01-02T01:04:05.123456000Z stdout F hi there\n"
    )
    assert podlogs.cri_line("x", at=at, stream="stderr").split(" ")[1] == "stderr"


def test_append_writes_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    podlogs.append(path, "one", "two")
    podlogs.append(path, "three")
    lines = path.read_text().splitlines()
    assert [line.split(" ", 3)[3] for line in lines] == ["one", "two", "three"]


def test_cluster_logs_selects_the_namespace_and_maps_containers_to_files() -> None:
    obj = podlogs.cluster_logs("n1", "ns", {"web": Path("/l/web.log"), "": Path("/l/rest.log")})
    assert obj["kind"] == "ClusterLogs" and obj["apiVersion"] == "kwok.x-k8s.io/v1alpha1"
    assert obj["spec"]["selector"] == {"matchNamespaces": ["ns"]}
    assert obj["spec"]["logs"] == [
        {"logsFile": "/l/web.log", "containers": ["web"]},
        {"logsFile": "/l/rest.log"},
    ]


def test_crds_define_both_kinds_in_kwoks_group() -> None:
    assert podlogs.crd("ClusterLogs")["spec"]["scope"] == "Cluster"
    logs = podlogs.crd("Logs")
    assert logs["metadata"]["name"] == "logs.kwok.x-k8s.io"
    assert logs["spec"]["scope"] == "Namespaced"
    assert logs["spec"]["versions"][0]["name"] == "v1alpha1"


def test_kwok_publishes_its_server_as_the_nodes_kubelet() -> None:
    paths = controlplane.Paths(Path("/bed"), "dev")
    cmd = controlplane.kwok_command(Path("/bin/kwok"), paths=paths, stages=Path("/s.yaml"),
                                    server_port=4321)  # fmt: skip
    assert "--server-address=127.0.0.1:4321" in cmd
    assert "--node-port=4321" in cmd
    assert "--node-ip=127.0.0.1" in cmd
    assert "--enable-crds=ClusterLogs,Logs" in cmd
