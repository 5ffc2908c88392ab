"""Editing an app's source parameters and sync policy from the Details view: the dialog writes
through the API's update endpoint, the real controller renders with the new parameters (real
helm and kustomize) and the destination shows the result; bad input is refused in the dialog
and nothing is written."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from tests.web.test_pages import JSON, api, get_app, login, scenario_ns, shot
from tests.web.waiting import until

from tidegate.testenv import handle, scenario, serverproc

__all__ = ["api"]
pytestmark = pytest.mark.e2e
XSS = "<img src=x onerror=\"window.__xss = 'param'\">"
CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    "chart/values.yaml": "color: blue\n",
    "chart/templates/cm.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n"
        "data:\n  color: {{ .Values.color | quote }}\n"
    ),
    "kust/kustomization.yaml": "resources:\n  - cm.yaml\n",
    "kust/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
}


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files=CHART).http_url


def new_app(
    api: httpx.Client, bed: handle.TestBed, repo_url: str, path: str, *, automated: bool
) -> tuple[str, str]:
    name, dest = f"edit-{secrets.token_hex(3)}", f"web-edit-{secrets.token_hex(3)}"
    app = scenario.application(
        name,
        repo_url=repo_url,
        path=path,
        server=bed.clusters["dev"].server,
        namespace=dest,
        automated=automated,
    )
    resp = api.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
    assert resp.status_code == 200, resp.text
    return name, dest


def configmap(bed: handle.TestBed, namespace: str, name: str) -> dict[str, Any] | None:
    with bed.admin_client("dev") as dev:
        resp = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        return resp.json() if resp.status_code == 200 else None


@pytest.fixture
def cleanup(api: httpx.Client) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        api.request("DELETE", f"/api/v1/applications/{name}", headers=JSON)


def test_edit_helm_parameters_refuses_a_bad_line_then_renders_the_new_value(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    cleanup: list[str],
    screenshots: Path,
) -> None:
    name, dest = new_app(api, testbed_handle, repo_url, "chart", automated=True)
    cleanup.append(name)
    until(
        lambda: (
            (configmap(testbed_handle, dest, "settings") or {}).get("data") == {"color": "blue"}
        ),
        within=120,
    )
    page = context.new_page()
    login(page, server, f"/applications/{scenario_ns(server)}/{name}?view=details")
    expect(page.locator(".params-head")).to_contain_text("Helm")
    page.get_by_role("button", name="✎ Edit parameters and sync policy").click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Parameters").fill("colour")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_have_text(
        'Helm parameter on line 1 ("colour") is not NAME=VALUE.'
    )
    shot(page, screenshots, "edit-dialog-helm-refused")
    assert "helm" not in get_app(api, name)["spec"]["source"]  # nothing written

    dialog.get_by_label("Parameters").fill(f"color=green\nnote={XSS}")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    source = get_app(api, name)["spec"]["source"]
    assert source["helm"] == {
        "parameters": [{"name": "color", "value": "green"}, {"name": "note", "value": XSS}]
    }
    expect(page.locator('[data-f="helm-parameters"]')).to_have_text(f"color=green\nnote={XSS}")
    assert page.evaluate("window.__xss") is None  # shown as text, never run
    assert page.locator(".params img").count() == 0
    until(
        lambda: (
            (configmap(testbed_handle, dest, "settings") or {}).get("data") == {"color": "green"}
        ),
        within=120,
    )


def test_edit_kustomize_prefix_images_and_turn_on_automated_sync(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    cleanup: list[str],
    screenshots: Path,
) -> None:
    name, dest = new_app(api, testbed_handle, repo_url, "kust", automated=False)
    cleanup.append(name)
    page = context.new_page()
    login(page, server, f"/applications/{scenario_ns(server)}/{name}?view=details")
    expect(page.locator('[data-f="sync-policy"]')).to_have_text("manual CreateNamespace=true")
    page.get_by_role("button", name="✎ Edit parameters and sync policy").click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Name prefix").fill("pre-")
    dialog.get_by_label(re.compile("Images")).fill("nginx=nginx:1.27\n")
    dialog.get_by_label("Automated sync").check()
    dialog.get_by_label("Prune resources (automated)").check()
    shot(page, screenshots, "edit-dialog-kustomize")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    spec = get_app(api, name)["spec"]
    assert spec["source"]["kustomize"] == {"namePrefix": "pre-", "images": ["nginx=nginx:1.27"]}
    assert spec["syncPolicy"] == {
        "automated": {"prune": True, "selfHeal": False},
        "syncOptions": ["CreateNamespace=true"],
    }
    expect(page.locator('[data-f="sync-policy"]')).to_contain_text("automated · prune")
    expect(page.locator('[data-f="name-prefix"]')).to_have_text("pre-")
    until(lambda: configmap(testbed_handle, dest, "pre-settings") is not None, within=120)
    shot(page, screenshots, "application-details-parameters")

    # Opened again, the dialog starts from the app as it is now.
    page.get_by_role("button", name="✎ Edit parameters and sync policy").click()
    expect(dialog.get_by_label("Name prefix")).to_have_value("pre-")
    expect(dialog.get_by_label("Automated sync")).to_be_checked()


def test_an_expired_session_keeps_what_was_typed_in_the_edit_dialog(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    cleanup: list[str],
) -> None:
    name, _ = new_app(api, testbed_handle, repo_url, "kust", automated=False)
    cleanup.append(name)
    path = f"/applications/{scenario_ns(server)}/{name}"
    page = context.new_page()
    login(page, server, path + "?view=details")
    page.get_by_role("button", name="✎ Edit parameters and sync policy").click()
    dialog = page.locator("#edit-dialog")
    dialog.get_by_label("Name prefix").fill("typed-")
    dialog.get_by_label(re.compile("Images")).fill("a=b:1\nc=d:2")
    dialog.get_by_label("Automated sync").check()
    context.clear_cookies()  # the session ends while the dialog is open
    dialog.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/login\?.*reason=expired"))
    page.get_by_label("Password").fill(server.admin_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path)))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name prefix")).to_have_value("typed-")
    expect(dialog.get_by_label(re.compile("Images"))).to_have_value("a=b:1\nc=d:2")
    expect(dialog.get_by_label("Automated sync")).to_be_checked()
    assert "kustomize" not in get_app(api, name)["spec"]["source"]  # nothing written meanwhile
