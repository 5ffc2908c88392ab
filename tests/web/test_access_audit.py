"""What a read-only user sees (every action it may not use disabled, with the rule as the
reason), and the audit log page with its filters, in a real browser against a real server whose
RBAC comes from the test bed's argocd-rbac-cm."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from tests.api.access_helpers import login as api_login
from tests.api.access_helpers import make_project_app, patch_configmap
from tests.web.test_pages import JSON, api, scenario_ns, shot
from tests.web.waiting import until

from tidegate.testenv import handle, serverproc

__all__ = ["api"]
pytestmark = pytest.mark.e2e
PASSWORD = "viewer-pass-1"
TAG = secrets.token_hex(3)
PROJECT, APP = f"team-{TAG}", f"ro-{TAG}"


@pytest.fixture(scope="module")
def viewer(
    server: serverproc.ServerProcess,
    token: str,
    control_namespace: str,
    testbed_handle: handle.TestBed,
) -> str:
    """A local account ``viewer`` with role:readonly and an app it may look at."""
    patch_configmap(testbed_handle, control_namespace, "argocd-cm", {"accounts.viewer": "login"})
    patch_configmap(
        testbed_handle,
        control_namespace,
        "argocd-rbac-cm",
        {"policy.csv": "g, viewer, role:readonly\n"},
    )
    with server.client(token=token) as admin:
        make_project_app(admin, testbed_handle, PROJECT, APP)
        body = {
            "name": "viewer",
            "currentPassword": server.admin_password(),
            "newPassword": PASSWORD,
        }

        def changed() -> bool:
            put = admin.put("/api/v1/account/password", content=json.dumps(body), headers=JSON)
            return put.status_code == 200

        until(changed, within=20)
    until(lambda: api_login(server, "viewer", PASSWORD).status_code == 200, within=20)
    # argocd-cm (the account) and argocd-rbac-cm (its role) are reloaded on their own: a login
    # can work before the role is known, and the user then sees nothing. Wait for the role.
    viewer_token = str(api_login(server, "viewer", PASSWORD).json()["token"])
    with server.client(token=viewer_token) as seen_by_viewer:
        until(
            lambda: seen_by_viewer.get(f"/api/v1/applications/{APP}").status_code == 200,
            within=30,
        )
    return "viewer"


def login_as(page: Page, user: str, password: str, path: str) -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?"))
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path.split("?")[0]) + r"(\?|$)"))


def test_a_readonly_user_sees_disabled_actions_with_the_reason(
    context: BrowserContext, server: serverproc.ServerProcess, viewer: str, screenshots: Path
) -> None:
    page = context.new_page()
    login_as(page, viewer, PASSWORD, f"/applications/{scenario_ns(server)}/{APP}")
    sync = page.get_by_role("button", name="⟳ Sync")
    expect(sync).to_be_disabled()
    expect(sync).to_have_attribute(
        "title",
        f"Your role may not sync applications of project {PROJECT} "
        f"(applications, sync, {PROJECT}/{APP})",
    )
    delete = page.get_by_role("button", name="✕ Delete")
    expect(delete).to_be_disabled()
    expect(delete).to_have_attribute("title", re.compile("may not delete"))
    expect(page.get_by_role("button", name="↻ Refresh")).to_be_enabled()  # a get
    expect(page.locator("[data-denied].denied-note")).to_contain_text("sync, update, delete")
    sync.click(force=True)  # a disabled button opens nothing
    expect(page.locator("#sync-dialog")).to_be_hidden()
    audit = page.locator('.rail [data-nav="audit"]')
    expect(audit).to_have_attribute("aria-disabled", "true")
    expect(audit).to_have_attribute("title", re.compile(r"\(audit, get\)"))
    expect(page.locator('.rail a[data-nav="rollouts"]')).to_have_attribute("href", "/rollouts")
    shot(page, screenshots, "application-readonly")
    page.get_by_role("tab", name="Details").click()
    edit = page.get_by_role("button", name="✎ Edit parameters and sync policy")
    expect(edit).to_be_disabled()
    expect(edit).to_have_attribute("title", re.compile("may not update applications"))

    # The same answer the API gives (can-i), and the audit page refuses with the reason.
    with server.client(token=api_login(server, viewer, PASSWORD).json()["token"]) as client:
        path = f"/api/v1/account/can-i/applications/sync/{PROJECT}/{APP}"
        assert client.get(path).json() == {"value": "no"}
    page.goto("/audit")
    expect(page.get_by_role("alert")).to_contain_text("permission denied: audit, get")


def test_the_audit_page_filters_by_actor_and_result(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    viewer: str,
    screenshots: Path,
) -> None:
    token = api_login(server, viewer, PASSWORD).json()["token"]
    with server.client(token=token) as client:  # a refused sync: a denied entry
        refused = client.post(f"/api/v1/applications/{APP}/sync", content="{}", headers=JSON)
        assert refused.status_code == 403, refused.text
    # a request naming an app with markup: refused, recorded, and shown as text
    payload = "<img src=x onerror=\"window.__xss = 'audit'\">"
    bad = api.post(f"/api/v1/applications/{quote(payload)}/sync", content="{}", headers=JSON)
    assert bad.status_code == 400, bad.text
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Password").fill(server.admin_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/applications"))
    page.locator('.rail [data-nav="audit"]').click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.locator(".audit-table tbody tr").first).to_be_visible()

    page.get_by_label("Actor").fill(viewer)
    page.get_by_label("Result").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"actor=viewer.*result=denied"))
    rows = page.locator(".audit-table tbody tr[data-audit-id]")
    expect(rows.first).to_contain_text("sync")
    expect(rows.first).to_contain_text(f"{PROJECT}/{APP}")
    for result in rows.evaluate_all("rs => rs.map(r => r.dataset.result)"):
        assert result == "denied"
    shot(page, screenshots, "audit-filtered")

    page.goto("/audit?actor=admin&action=sync&result=failed")
    expect(page.locator(".audit-table tbody")).to_contain_text(payload)
    assert page.evaluate("window.__xss") is None
    assert page.locator(".audit-table img").count() == 0
    page.goto("/audit?since=yesterday")
    expect(page.get_by_role("alert")).to_contain_text("since must be an RFC 3339 time")
