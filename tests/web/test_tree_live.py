"""The resource tree follows its destination while the page is open: the server watches the
destination of an open tree (api.tree_watch), so Pods appear and go without a reload and
without the app changing. Real server, controller, kube-controller-manager and kwok."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from tests.web import gitapps, test_tree
from tests.web.test_pages import JSON, api, login, scenario_ns, shot
from tests.web.waiting import until

from tidegate.testenv import handle, scenario, serverproc
from tidegate.web import views

__all__ = ["api"]
pytestmark = pytest.mark.e2e
WORKLOAD = test_tree.WORKLOAD.replace("replicas: 2", "replicas: 1")


@pytest.fixture(scope="module")
def scalable_app(
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
    server: serverproc.ServerProcess,
    token: str,
    controller: scenario.ControllerProcess,
) -> Iterator[tuple[str, str]]:
    """An automated app of a Deployment of 1 replica whose replica count is the cluster's to
    change (ignoreDifferences on /spec/replicas, as for an autoscaled Deployment), healthy."""
    ignore = [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    with gitapps.healthy_app(
        testbed_handle,
        tmp_path_factory.mktemp("live-tree"),
        server,
        token,
        {"all.yaml": WORKLOAD},
        prefix="live",
        spec={"ignoreDifferences": ignore},
    ) as (name, dest, _):
        yield name, dest


def test_the_tree_stream_follows_the_destination(
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    scalable_app: tuple[str, str],
) -> None:
    """An EndpointSlice owned by the app's Service, made by someone else on the destination,
    changes nothing the controller writes on the app: only the watch of the destination can
    bring it to an open stream."""
    name, dest = scalable_app
    slice_name = f"extra-{secrets.token_hex(3)}"
    service = next(n for n in test_tree.tree_of(api, name) if n["kind"] == "Service")
    uid = json.loads(
        scenario.kubectl(testbed_handle, "dev", "get", "service", "web", "-n", dest, "-o", "json")
    )["metadata"]["uid"]
    manifest = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": slice_name,
            "namespace": dest,
            "labels": {
                "kubernetes.io/service-name": "web",
                "endpointslice.kubernetes.io/managed-by": "tidegate-tests",
            },
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": uid}],
        },
        "addressType": "IPv4",
        "endpoints": [],
    }
    assert service["name"] == "web"
    path = f"/api/v1/stream/applications/{name}/resource-tree"
    with api.stream("GET", path, timeout=httpx.Timeout(10, read=60)) as resp:
        assert resp.status_code == 200
        lines = resp.iter_lines()
        first = json.loads(next(lines))["result"]["nodes"]
        assert slice_name not in {n["name"] for n in first}
        with testbed_handle.admin_client("dev") as dev:
            made = dev.post(
                f"/apis/discovery.k8s.io/v1/namespaces/{dest}/endpointslices",
                content=json.dumps(manifest),
                headers=JSON,
            )
            assert made.status_code == 201, made.text
        for line in lines:  # ends with httpx's ReadTimeout if the slice never comes
            nodes = json.loads(line)["result"]["nodes"]
            found = [n for n in nodes if n["name"] == slice_name]
            if found:
                assert [p["name"] for p in found[0]["parentRefs"]] == ["web"]
                break
    scenario.kubectl(testbed_handle, "dev", "delete", "endpointslice", slice_name, "-n", dest)


def test_pods_appear_and_go_on_the_open_page(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    scalable_app: tuple[str, str],
    screenshots: Path,
) -> None:
    name, dest = scalable_app
    until(lambda: sum(n["kind"] == "Pod" for n in test_tree.tree_of(api, name)) == 1, within=60)
    page = context.new_page()
    login(page, server, f"/applications/{scenario_ns(server)}/{name}")
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    page.evaluate("() => { window.notReloaded = true; }")
    deploy = page.locator(f'.tree li:has(> .node[data-node="apps/Deployment/{dest}/web"])')
    pods = deploy.locator("> ul > li > ul > li > .node")
    expect(pods).to_have_count(1)
    # Live updates patch the body in place: a node that did not change stays the same element.
    service = f"/Service/{dest}/web"
    page.evaluate(
        "id => { window.kept = document.querySelector(`.node[data-node='${id}']`); }", service
    )

    # The page's fingerprint of the children is the server's (views.children_signature).
    nodes = test_tree.tree_of(api, name)
    assert page.evaluate("n => childrenSignature(n)", nodes) == views.children_signature(nodes)

    scenario.kubectl(testbed_handle, "dev", "scale", "deployment/web", "--replicas=3", "-n", dest)
    expect(pods).to_have_count(3)
    expect(pods.nth(2)).to_have_attribute("data-health", "Healthy")
    assert page.evaluate("() => window.kept.isConnected && window.kept.dataset.node") == service
    shot(page, screenshots, "application-tree-scaled")
    scenario.kubectl(testbed_handle, "dev", "scale", "deployment/web", "--replicas=1", "-n", dest)
    expect(pods).to_have_count(1)
    assert page.evaluate("() => window.notReloaded") is True  # live, not reloaded
