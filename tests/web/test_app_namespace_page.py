"""The application page of an app outside the control namespace (apps in any namespace), in
the browser against a real ``tidegate server --application-namespaces`` and controller: its URL
``/applications/<namespace>/<name>`` opens it, with its tree (managed resources and live
children), a resource's live manifest and diff, and its events; every call the page makes
names the app's namespace (``appNamespace``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect
from tests.api import far_apps
from tests.web.test_pages import login, shot
from tests.web.waiting import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
FAR = far_apps.Far(secrets.token_hex(3))


@pytest.fixture(scope="module")
def server_extra() -> list[str]:
    return ["--application-namespaces", FAR.glob]


@pytest.fixture(scope="module")
def controller_extra() -> list[str]:
    return ["--application-namespaces", FAR.glob]


@pytest.fixture(scope="module")
def far_app(
    testbed_handle: handle.TestBed,
    server: serverproc.ServerProcess,
    token: str,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    with far_apps.namespaces(testbed_handle, FAR), server.client(token=token) as api:
        repo_url = far_apps.repo(testbed_handle, tmp_path_factory.mktemp("repo"))
        yield far_apps.deploy(api, testbed_handle, FAR, repo_url, poll=until)


def test_the_page_of_an_app_in_another_namespace(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    far_app: str,
    testbed_handle: handle.TestBed,
    screenshots: Path,
) -> None:
    dest = FAR.dest
    # A live change the diff shows: the desired colour is blue.
    patch = json.dumps({"data": {"color": "red"}})
    scenario.kubectl(testbed_handle, "dev", "-n", dest, "patch", "configmap/settings",
                     "--type=merge", "-p", patch)  # fmt: skip
    page = context.new_page()
    calls: list[str] = []
    page.on("request", lambda r: calls.append(r.url) if "/api/v1/" in r.url else None)
    login(page, server, f"/applications/{FAR.team}/{far_app}")
    expect(page.locator(".app-head")).to_contain_text(far_app)
    deploy = page.locator(f'.tree li:has(> .node[data-node="apps/Deployment/{dest}/web"])')
    expect(deploy.locator("> ul > li > .node .node-meta").first).to_contain_text("ReplicaSet")
    settings = page.locator(f'.tree .node[data-node="/ConfigMap/{dest}/settings"]')
    expect(settings).to_have_count(1)
    shot(page, screenshots, "application-other-namespace")

    settings.click()
    panel = page.locator("#node-dialog")
    expect(panel.locator(".manifest")).to_contain_text('"color": "red"')
    panel.get_by_role("button", name="Diff").click()
    expect(panel.locator(".manifest")).to_contain_text("blue")
    panel.get_by_role("button", name="Close").click()

    page.get_by_role("tab", name="Events").click()
    expect(page.locator("#events .event").first).to_be_visible()
    expect(page.locator("#events")).to_contain_text("created application")

    per_app = [u for u in calls if f"/applications/{far_app}" in u]
    assert per_app and all(f"appNamespace={FAR.team}" in u for u in per_app), per_app


def test_a_namespace_not_served_is_refused_on_the_page(
    context: BrowserContext, server: serverproc.ServerProcess, far_app: str
) -> None:
    page = context.new_page()
    login(page, server, f"/applications/{FAR.unserved}/{far_app}")
    expect(page.locator("main")).to_contain_text(f"namespace '{FAR.unserved}' is not permitted")


def test_the_list_links_to_the_namespaced_page(
    context: BrowserContext, server: serverproc.ServerProcess, far_app: str
) -> None:
    page = context.new_page()
    login(page, server, "/applications")
    link = page.locator(f'a.app-name[href="/applications/{FAR.team}/{far_app}"]')
    expect(link.first).to_be_visible()
    link.first.click()
    expect(page.locator(".app-head")).to_contain_text(far_app)
