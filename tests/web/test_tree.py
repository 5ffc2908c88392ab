"""The resource tree's live children (Deployment -> ReplicaSet -> Pods, Service ->
EndpointSlice) through the API and in the browser, against the real controller and the test
bed's kube-controller-manager and kwok (which make the ReplicaSets and run the Pods)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from tests.web import gitapps
from tests.web.test_pages import api, login, scenario_ns, shot
from tests.web.waiting import until

from tidegate.testenv import handle, scenario, serverproc

__all__ = ["api"]
pytestmark = pytest.mark.e2e
WORKLOAD = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: "plain"
data:
  a: b
"""


@pytest.fixture(scope="module")
def workload_app(
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
    server: serverproc.ServerProcess,
    token: str,
    controller: scenario.ControllerProcess,
) -> Iterator[tuple[str, str]]:
    """An automated app of a Deployment (2 replicas), a Service and a ConfigMap, healthy."""
    workdir = tmp_path_factory.mktemp("tree")
    files = {"all.yaml": WORKLOAD}
    with gitapps.healthy_app(testbed_handle, workdir, server, token, files, prefix="tree") as made:
        yield made[0], made[1]


def tree_of(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    resp = api.get(f"/api/v1/applications/{name}/resource-tree")
    assert resp.status_code == 200, resp.text
    nodes: list[dict[str, Any]] = resp.json()["nodes"]
    return nodes


def test_the_api_tree_lists_live_children(api: httpx.Client, workload_app: tuple[str, str]) -> None:
    name, dest = workload_app

    def pods() -> list[dict[str, Any]]:
        return [n for n in tree_of(api, name) if n["kind"] == "Pod"]

    until(
        lambda: len(pods()) == 2 and all(p["health"]["status"] == "Healthy" for p in pods()),
        within=60,
    )
    nodes = tree_of(api, name)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for n in nodes:
        by_kind.setdefault(n["kind"], []).append(n)
    (rs,) = by_kind["ReplicaSet"]
    assert rs["group"] == "apps" and rs["namespace"] == dest
    assert [(p["kind"], p["name"]) for p in rs["parentRefs"]] == [("Deployment", "web")]
    assert rs["health"]["status"] == "Healthy"
    for pod in by_kind["Pod"]:
        assert [p["name"] for p in pod["parentRefs"]] == [rs["name"]]
        assert pod["uid"] and pod["images"] == ["nginx:1.27"]
        assert {"name": "Containers", "value": "1/1"} in pod["info"]
    assert "parentRefs" not in by_kind["Deployment"][0]
    assert "ConfigMap" in by_kind and all(n["kind"] != "Event" for n in nodes)

    # A child's live manifest is reachable through the app; a Pod the app does not own is not.
    pod_name = by_kind["Pod"][0]["name"]
    params = {"namespace": dest, "resourceName": pod_name, "kind": "Pod", "version": "v1"}
    got = api.get(f"/api/v1/applications/{name}/resource", params=params)
    assert got.status_code == 200, got.text
    assert json.loads(got.json()["manifest"])["metadata"]["name"] == pod_name
    params["resourceName"] = "not-a-pod-of-the-app"
    refused = api.get(f"/api/v1/applications/{name}/resource", params=params)
    assert refused.status_code == 400, refused.text
    assert f"application {name}" in refused.json()["message"]


def test_the_browser_draws_deployment_replicaset_pods(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    workload_app: tuple[str, str],
    screenshots: Path,
) -> None:
    name, dest = workload_app
    until(lambda: sum(n["kind"] == "Pod" for n in tree_of(api, name)) == 2, within=60)
    page = context.new_page()
    login(page, server, f"/applications/{scenario_ns(server)}/{name}")
    deploy = page.locator(f'.tree li:has(> .node[data-node="apps/Deployment/{dest}/web"])')
    replicaset = deploy.locator("> ul > li")
    expect(replicaset).to_have_count(1)
    expect(replicaset.locator("> .node .node-meta")).to_contain_text("ReplicaSet")
    pods = replicaset.locator("> ul > li > .node")
    expect(pods).to_have_count(2)
    expect(pods.first).to_have_attribute("data-health", "Healthy")
    expect(pods.first.locator(".node-meta")).to_contain_text("Running · 1/1")
    service = page.locator(f'.tree li:has(> .node[data-node="/Service/{dest}/web"])')
    expect(service.locator("> ul .node-meta").first).to_contain_text("EndpointSlice")
    shot(page, screenshots, "application-tree-children")

    # The body carries the tree; the list comes when its tab opens. Back to the tree before the
    # list has arrived, the tree is there in the end (not its placeholder).
    page.get_by_role("tab", name="List").click()
    page.get_by_role("tab", name="Tree").click()
    expect(page.locator(".panel-tree .tree")).to_be_visible()
    expect(page.locator(".panel-tree[data-pending]")).to_have_count(0)
    expect(pods).to_have_count(2)
    page.get_by_role("tab", name="List").click()
    rows = page.locator(".panel-list tr[data-resource]")
    expect(rows).to_have_count(3)
    expect(rows.locator("td:nth-child(3)")).to_have_text(["plain", "web", "web"])
    page.get_by_role("tab", name="Tree").click()
    expect(page.locator(".panel-tree .tree")).to_be_visible()

    # A Pod's panel: its live manifest, and no desired state (it is not managed).
    pods.first.click()
    panel = page.locator("#node-dialog")
    expect(panel.locator('[data-f="sync"]')).to_contain_text("not managed")
    expect(panel.locator(".manifest")).to_contain_text('"kind": "Pod"')
    panel.get_by_role("button", name="Desired manifest").click()
    expect(panel).to_contain_text("it has no desired state")
    shot(page, screenshots, "node-pod")
