"""``tidegate app logs`` against the test bed: the pods a Deployment of the app owns on ``dev``
(made by the real kube-controller-manager, run by kwok) are found through their owner chain,
and their logs asked of the real API server.

The bed's kwok nodes publish no kubelet endpoint (``daemonEndpoints.kubeletEndpoint.Port`` is 0:
kwok is started without ``ClusterLogs``/``Logs`` configuration and with a node IP the API server
cannot reach), so the API server answers every ``pods/log`` with an error: what is real here is
the pod selection and that error, reported naming the pod (exit 1). The line filters are
tested as pure functions (tests/controller/test_app_pods.py).
"""

from __future__ import annotations

import pytest
from tests.cli.appcli import Cli, eventually, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


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
                "spec": {"containers": [{"name": "main", "image": "reg/app:1.0"}]},
            },
        },
    }


def test_logs_of_the_pods_the_app_owns(
    cli: Cli,
    namespace: str,
    testbed_handle: handle.TestBed,
) -> None:
    name = unique("logs")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", "https://git.example.com/r.git", "--path", "apps/web", "--dest-server",
             server, "--dest-namespace", namespace, "--validate=false"]  # fmt: skip
    assert cli("create", name, *flags).exit_code == 0
    with testbed_handle.admin_client("dev") as dev:
        for deploy in ("web", "other"):
            made = dev.post(f"/apis/apps/v1/namespaces/{namespace}/deployments",
                            json=_deployment(deploy))  # fmt: skip
            assert made.status_code == 201, made.text

        def pods() -> list[str]:
            listed = dev.get(f"/api/v1/namespaces/{namespace}/pods").json()["items"]
            return sorted(p["metadata"]["name"] for p in listed
                          if p["metadata"]["name"].startswith("web-"))  # fmt: skip

        web_pods = eventually(lambda: len(pods()) == 2 and pods(), within=60)
    managed = [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": namespace,
                "name": "web", "status": "Synced"},
               {"version": "v1", "kind": "ConfigMap", "namespace": namespace,
                "name": "cfg"}]  # fmt: skip
    cli.patch(name, {"status": {"resources": managed}})

    got = cli("logs", name, "--kind", "Deployment", "--tail", "5")
    assert got.exit_code == 1, got.output
    # the first of the Deployment's pods (never the other Deployment's), with the API's answer
    assert f"logs of pod {namespace}/{web_pods[0]}" in got.stderr
    assert "other-" not in got.stderr

    none = cli("logs", name, "--kind", "ConfigMap")
    assert none.exit_code == 0 and none.stdout == ""
    assert f"application '{cli.ns}/{name}': no pod matches" in none.stderr
    elsewhere = cli("logs", name, "--resource-namespace", "not-" + namespace)
    assert elsewhere.exit_code == 0 and "no pod matches" in elsewhere.stderr

    bad = cli("logs", name, "--until-time", "yesterday")
    assert bad.exit_code == 2 and "'yesterday' is not an RFC 3339 time" in bad.stderr
