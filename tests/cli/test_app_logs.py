"""``tidegate app logs`` against the test bed: the pods a Deployment of the app owns on ``dev``
(made by the real kube-controller-manager, run by kwok) are found through their owner chain,
and their logs read through the real API server.

kwok plays the pods' kubelet and serves their logs from files this test writes
(``testenv/podlogs.py``; every pod of the namespace reads the same files): the Deployment's two
pods are printed one after the other, never the other Deployment's, with the flags applied. An
unknown container is the API server's refusal, reported naming the pod (exit 1). The line
filters are also tested as pure functions (tests/controller/test_app_pods.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.cli.appcli import Cli, eventually, unique

from tidegate.testenv import handle, podlogs

pytestmark = pytest.mark.e2e
OLD = ["an old line", "an OLD Warning"]
NEW = ["a new warning", "the last line"]


def _deployment(name: str) -> dict[str, object]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "reg/app:1.0"},
                                        {"name": "side", "image": "reg/app:1.0"}]},
            },
        },
    }  # fmt: skip


def test_logs_of_the_pods_the_app_owns(
    cli: Cli,
    namespace: str,
    testbed_handle: handle.TestBed,
    tmp_path: Path,
) -> None:
    name = unique("logs")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", "https://git.example.com/r.git", "--path", "apps/web", "--dest-server",
             server, "--dest-namespace", namespace, "--validate=false"]  # fmt: skip
    assert cli("create", name, *flags).exit_code == 0
    files = {"main": tmp_path / "main.log", "side": tmp_path / "side.log"}
    with testbed_handle.admin_client("dev") as dev:
        served = podlogs.serve(dev, namespace, files)
        try:
            podlogs.append(files["main"], *OLD, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
            podlogs.append(files["main"], *NEW)
            podlogs.append(files["side"], "from the side")
            for deploy in ("web", "other"):
                made = dev.post(f"/apis/apps/v1/namespaces/{namespace}/deployments",
                                json=_deployment(deploy))  # fmt: skip
                assert made.status_code == 201, made.text

            def pods() -> list[str]:
                listed = dev.get(f"/api/v1/namespaces/{namespace}/pods").json()["items"]
                return sorted(p["metadata"]["name"] for p in listed
                              if p["metadata"]["name"].startswith("web-"))  # fmt: skip

            web_pods = eventually(lambda: len(pods()) == 2 and pods(), within=60)
            managed = [{"group": "apps", "version": "v1", "kind": "Deployment",
                        "namespace": namespace, "name": "web", "status": "Synced"},
                       {"version": "v1", "kind": "ConfigMap", "namespace": namespace,
                        "name": "cfg"}]  # fmt: skip
            cli.patch(name, {"status": {"resources": managed}})

            def logs(*args: str) -> list[str]:
                got = cli("logs", name, "--kind", "Deployment", *args)
                assert got.exit_code == 0, got.output
                return list(got.stdout.splitlines())

            # kwok learns of the ClusterLogs through its watch: poll the first read
            everything = eventually(
                lambda: cli("logs", name, "--kind", "Deployment").exit_code == 0 and logs()
            )
            assert everything == (OLD + NEW) * 2  # each web pod in turn, never other-...
            assert logs("--tail", "1") == NEW[-1:] * 2
            assert logs("--since-seconds", "600") == NEW * 2
            assert logs("--filter", "warning") == [OLD[1], NEW[0]] * 2
            assert logs("--filter", "warning", "--match-case") == [NEW[0]] * 2
            assert logs("--filter", "!warning") == [OLD[0], NEW[1]] * 2
            assert logs("--container", "side") == ["from the side"] * 2

            unknown = cli("logs", name, "--kind", "Deployment", "--container", "nope")
            assert unknown.exit_code == 1, unknown.output
            assert f"logs of pod {namespace}/{web_pods[0]}" in unknown.stderr
            assert "nope" in unknown.stderr
        finally:
            podlogs.stop(dev, served)

    none = cli("logs", name, "--kind", "ConfigMap")
    assert none.exit_code == 0 and none.stdout == ""
    assert f"application '{cli.ns}/{name}': no pod matches" in none.stderr
    elsewhere = cli("logs", name, "--resource-namespace", "not-" + namespace)
    assert elsewhere.exit_code == 0 and "no pod matches" in elsewhere.stderr

    bad = cli("logs", name, "--until-time", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not an RFC 3339 time" in bad.stderr
