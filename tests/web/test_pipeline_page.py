"""The promotion pipeline over the server's API and in the browser, against the real controller
(promotions on), the real ``tidegate server``, the test bed's registry, git server and dev
cluster: list and get the Kargo objects, refused requests that write nothing, RBAC (a read-only
user sees the buttons disabled with the rule), the audit log, and prod approved and promoted
from the page."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.api.access_helpers import api_error, patch_configmap
from tests.api.access_helpers import login as api_login
from tests.controller.e2e.conftest import gitops
from tests.web.test_access_audit import login_as
from tests.web.test_pages import JSON, login, shot
from tests.web.waiting import until

from tidegate.testenv import handle, scenario, serverproc
from tidegate.testenv import pipeline as pipeline_mod
from tidegate.testenv.pipeline import Pipeline

__all__ = ["gitops"]
pytestmark = pytest.mark.e2e
SHARD = "webpipe-" + secrets.token_hex(3)
PASSWORD = "watcher-pass-1"
WATCHER = "watcher"
APP_RESYNC = 180


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return [f"--promotions-shard={SHARD}"]


@pytest.fixture(scope="module")
def control_namespace(gitops: scenario.GitOps) -> str:
    """The server serves the controller's namespace (tests.api's server fixture takes it)."""
    return gitops.namespace


@pytest.fixture(scope="module")
def pipeline(gitops: scenario.GitOps) -> Iterator[Pipeline]:
    p = pipeline_mod.setup(gitops, shard=SHARD)
    yield p
    pipeline_mod.teardown(p)


@pytest.fixture(scope="module")
def first(pipeline: Pipeline) -> dict[str, Any]:
    """1.0.0 pushed: its Freight, once dev and staging hold it and staging verified it."""
    p = pipeline
    pipeline_mod.push(p, "1.0.0")
    freight: dict[str, Any] = p.wait("Freight for 1.0.0", lambda: p.freight_for("1.0.0"))
    name = freight["metadata"]["name"]
    p.wait(
        "dev and staging on 1.0.0, verified in staging",
        lambda: (
            p.current("staging") == name
            and "staging"
            in ((p.freight_for("1.0.0") or {}).get("status") or {}).get("verifiedIn", {})
        ),
        timeout=180,
    )
    return freight


@pytest.fixture(scope="module")
def watcher(server: serverproc.ServerProcess, token: str, testbed_handle: handle.TestBed) -> str:
    """A local account with role:readonly (may look at pipelines, not promote or approve)."""
    ns = server.namespace
    patch_configmap(testbed_handle, ns, "argocd-cm", {f"accounts.{WATCHER}": "login"})
    patch_configmap(
        testbed_handle, ns, "argocd-rbac-cm", {"policy.csv": f"g, {WATCHER}, role:readonly\n"}
    )
    body = {"name": WATCHER, "currentPassword": server.admin_password(), "newPassword": PASSWORD}
    with server.client(token=token) as admin:
        until(
            lambda: (
                admin.put(
                    "/api/v1/account/password", content=json.dumps(body), headers=JSON
                ).status_code
                == 200
            ),
            within=20,
        )
    until(lambda: api_login(server, WATCHER, PASSWORD).status_code == 200, within=20)
    return WATCHER


def _base(p: Pipeline) -> str:
    return f"/api/v1/promotion/projects/{p.project}"


def test_the_api_lists_gets_and_refuses_what_it_cannot_do(
    server: serverproc.ServerProcess,
    token: str,
    pipeline: Pipeline,
    first: dict[str, Any],
    watcher: str,
) -> None:
    p = pipeline
    with server.client(token=token) as api:
        projects = api.get("/api/v1/promotion/projects").json()["items"]
        assert p.project in [x["metadata"]["name"] for x in projects]
        stages = api.get(f"{_base(p)}/stages").json()["items"]
        assert [s["metadata"]["name"] for s in stages] == ["dev", "prod", "staging"]
        by_alias = api.get(f"{_base(p)}/freight/{first['alias']}")
        assert by_alias.json()["metadata"]["name"] == first["metadata"]["name"]
        assert api.get(f"{_base(p)}/warehouses/guestbook").json()["spec"]["subscriptions"]
        api_error(api.get(f"{_base(p)}/stages/nope"), 404, "Stage 'nope' does not exist")
        api_error(api.get(f"{_base(p)}/gadgets"), 404, "unknown collection")
        before = len(api.get(f"{_base(p)}/promotions").json()["items"])
        # 1.0.1 is verified nowhere yet: prod cannot take it, and nothing is created.
        pipeline_mod.push(p, "1.0.1")
        second = p.wait("Freight for 1.0.1", lambda: p.freight_for("1.0.1"))
        refused = api.post(
            f"{_base(p)}/stages/prod/promote",
            content=json.dumps({"freight": second["metadata"]["name"]}),
            headers=JSON,
        )
        api_error(refused, 400, "cannot be promoted to Stage prod")
        approve = api.post(
            f"{_base(p)}/stages/prod/approve",
            content=json.dumps({"freightAlias": second["alias"]}),
            headers=JSON,
        )
        api_error(approve, 400, "is not verified in any Stage upstream of prod")
        promos = api.get(f"{_base(p)}/promotions").json()["items"]
        assert len([x for x in promos if x["spec"]["stage"] == "prod"]) == 0
        assert len(promos) >= before
    # A read-only user reads, and is refused (403) on writes, which the audit log records.
    viewer_token = api_login(server, watcher, PASSWORD).json()["token"]
    with server.client(token=viewer_token) as viewer:
        assert viewer.get(f"{_base(p)}/stages").status_code == 200
        denied = viewer.post(
            f"{_base(p)}/stages/prod/promote",
            content=json.dumps({"freight": first["metadata"]["name"]}),
            headers=JSON,
        )
        api_error(denied, 403, f"permission denied: promotions, promote, {p.project}/prod")
    with server.client(token=token) as api:

        def denied_entry() -> dict[str, Any] | None:
            query = {"actor": watcher, "kind": "Stage", "result": "denied"}
            items = api.get("/api/v1/audit", params=query).json()["items"]
            return next((i for i in items if i["object"]["project"] == p.project), None)

        entry = until(denied_entry, within=10)
        assert entry["action"] == "promote" and entry["object"]["name"] == "prod"


def test_the_pipeline_page_approves_and_promotes_prod(
    browser: Browser,
    context: BrowserContext,
    server: serverproc.ServerProcess,
    token: str,
    pipeline: Pipeline,
    first: dict[str, Any],
    watcher: str,
    screenshots: Path,
) -> None:
    p = pipeline
    name, alias = first["metadata"]["name"], first["alias"]
    # 1.0.1 (pushed by the API test) has reached staging: no auto-promotion pushes meanwhile.
    newer = p.freight_for("1.0.1")
    if newer is not None:
        until(lambda: p.current("staging") == newer["metadata"]["name"], within=180)
    page = context.new_page()
    login(page, server, "/promotions")
    page.get_by_role("link", name=p.project).click()
    expect(page).to_have_url(re.compile(f"/promotions/{p.project}$"))
    dev = page.locator('.card.stage[data-stage="dev"]')
    staging = page.locator('.card.stage[data-stage="staging"]')
    prod = page.locator('.card.stage[data-stage="prod"]')
    expect(page.locator('.card.warehouse[data-warehouse="guestbook"]')).to_contain_text(p.image)
    # dev and staging hold Freight (1.0.0, or 1.0.1 by now: auto-promotion keeps going).
    expect(dev.locator('[data-f="current"] strong')).to_have_count(1)
    expect(staging.locator('[data-f="current"] strong')).to_have_count(1)
    expect(dev.locator('[data-f="verification"] .phase')).to_have_count(1)
    expect(dev.locator(".badge")).to_have_attribute(
        "data-status", re.compile("Healthy|Progressing")
    )
    expect(prod.locator('[data-f="current"]')).to_contain_text("no Freight yet")
    # The columns run left to right: Warehouses, dev, staging, prod. Measured in one script
    # run: the live page may swap its cards in between two separate measurements.
    selectors = [
        ".card.warehouse",
        '.card.stage[data-stage="dev"]',
        '.card.stage[data-stage="staging"]',
        '.card.stage[data-stage="prod"]',
    ]
    xs = page.evaluate(
        "sels => sels.map((s) => document.querySelector(s)?.getBoundingClientRect().x)",
        selectors,
    )
    assert len(xs) == 4 and None not in xs and xs == sorted(xs) and len(set(xs)) == 4, xs
    shot(page, screenshots, "pipeline-before")

    approve = prod.locator('form[data-action="approve"]')
    approve.locator("select").select_option(name)
    approve.get_by_role("button", name="Approve").click()
    expect(page.locator("#toast")).to_contain_text("Approved for prod")
    until(
        lambda: "prod" in (p.freight_for("1.0.0") or {}).get("status", {}).get("approvedFor", {}),
        within=10,
    )
    # The page reads itself again after an action: the approved Freight leaves the list.
    expect(approve.locator(f'option[value="{name}"]')).to_have_count(0)
    promote = prod.locator('form[data-action="promote"]')
    promote.locator("select").select_option(name)
    promote.get_by_role("button", name="Promote").click()
    expect(page.locator("#toast")).to_contain_text("Promotion ")
    until(lambda: p.current("prod") == name, within=180)
    page.reload()
    expect(prod.locator('[data-f="current"]')).to_contain_text(alias)
    expect(page.locator("tr[data-promotion] td", has_text="user:admin").first).to_be_visible()
    shot(page, screenshots, "pipeline-after-promote")
    with server.client(token=token) as api:
        query = {"actor": "admin", "kind": "Stage", "result": "succeeded"}
        items = api.get("/api/v1/audit", params=query).json()["items"]
        mine = [i for i in items if i["object"]["project"] == p.project]
        assert {i["action"] for i in mine} >= {"approve", "promote"}

    # The read-only user sees the same pipeline with the buttons disabled and the rule.
    viewer_ctx = browser.new_context(
        base_url=server.url, ignore_https_errors=True, viewport={"width": 1280, "height": 800}
    )
    try:
        vpage: Page = viewer_ctx.new_page()
        login_as(vpage, watcher, PASSWORD, f"/promotions/{p.project}")
        button = vpage.locator(
            '.card.stage[data-stage="staging"] form[data-action="promote"] button'
        )
        expect(button).to_be_disabled()
        expect(button).to_have_attribute(
            "title",
            "Your role may not promote to Stage staging "
            f"(promotions, promote, {p.project}/staging)",
        )
        shot(vpage, screenshots, "pipeline-readonly")
    finally:
        viewer_ctx.close()
