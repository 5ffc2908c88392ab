"""The pipeline page is live, in a real browser against a real ``tidegate server`` and the test
bed's management cluster: a Freight created, a Stage's health and a Promotion's phase patched
through the kube API, and a Promote from the page, all show on the open page without a reload
(a marker set on ``window`` at load survives). The project is labelled with a shard no
controller serves, so only this test changes its objects."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from tests.web.test_pages import login, shot

from tidegate.promotion.freight import ALIAS_LABEL
from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
API = "kargo.akuity.io/v1alpha1"
KARGO = f"/apis/{API}"
MERGE = {"Content-Type": "application/merge-patch+json"}
IMAGE = "registry.invalid/shop"
STEP = {"uses": "git-clear", "config": {"path": "./out"}}  # never run: no controller takes it


def _create(bed: handle.TestBed, path: str, obj: dict[str, Any]) -> dict[str, Any]:
    with bed.admin_client("mgmt") as kube:
        created = kube.post(path, json=obj)
        assert created.status_code == 201, created.text
        body: dict[str, Any] = created.json()
        return body


def _patch_status(bed: handle.TestBed, path: str, status: dict[str, Any]) -> None:
    with bed.admin_client("mgmt") as kube:
        body = json.dumps({"status": status})
        patched = kube.patch(path + "/status", content=body, headers=MERGE)
        assert patched.status_code == 200, patched.text


@pytest.fixture(scope="module")
def project(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A Warehouse ``shop`` feeding a Stage ``dev``, no Freight yet."""
    name = f"plive-{secrets.token_hex(3)}"
    shard = {"kargo.akuity.io/shard": f"nobody-{secrets.token_hex(3)}"}
    meta = {"name": name, "labels": shard}
    _create(
        testbed_handle,
        f"{KARGO}/projects",
        {"apiVersion": API, "kind": "Project", "metadata": meta},
    )
    with testbed_handle.admin_client("mgmt") as kube:
        made = kube.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert made.status_code in (201, 409), made.text  # 409: a controller made it
    ns = f"{KARGO}/namespaces/{name}"
    warehouse = {
        "apiVersion": API,
        "kind": "Warehouse",
        "metadata": {"name": "shop"},
        "spec": {"interval": "24h", "subscriptions": [{"image": {"repoURL": IMAGE}}]},
    }
    _create(testbed_handle, f"{ns}/warehouses", warehouse)
    stage = {
        "apiVersion": API,
        "kind": "Stage",
        "metadata": {"name": "dev"},
        "spec": {
            "requestedFreight": [
                {"origin": {"kind": "Warehouse", "name": "shop"}, "sources": {"direct": True}}
            ],
            "promotionTemplate": {"spec": {"steps": [STEP]}},
        },
    }
    _create(testbed_handle, f"{ns}/stages", stage)
    try:
        yield name
    finally:
        with testbed_handle.admin_client("mgmt") as kube:
            kube.delete(f"{KARGO}/projects/{name}")
            kube.delete(f"/api/v1/namespaces/{name}")


def _freight(alias: str, tag: str) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "Freight",
        "metadata": {"name": secrets.token_hex(20), "labels": {ALIAS_LABEL: alias}},
        "alias": alias,
        "origin": {"kind": "Warehouse", "name": "shop"},
        "images": [{"repoURL": IMAGE, "tag": tag}],
    }


def test_the_pipeline_page_follows_the_cluster_without_reload(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    project: str,
    testbed_handle: handle.TestBed,
    screenshots: Path,
) -> None:
    ns = f"{KARGO}/namespaces/{project}"
    page: Page = context.new_page()
    login(page, server, f"/promotions/{project}")
    page.evaluate("window.loadedOnce = 'pipeline-marker'")  # a reload would lose it
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    warehouse = page.locator('.card.warehouse[data-warehouse="shop"]')
    dev = page.locator('.card.stage[data-stage="dev"]')
    expect(warehouse).to_contain_text("0 Freight")
    expect(dev.locator('form[data-action="promote"] button')).to_be_disabled()

    # A Freight arrives at the Warehouse: counted, and offered to dev.
    freight = _create(testbed_handle, f"{ns}/freights", _freight("brave-otter", "1.0.0"))
    name = freight["metadata"]["name"]
    expect(warehouse).to_contain_text("1 Freight")
    promote = dev.locator('form[data-action="promote"]')
    expect(promote.locator(f'option[value="{name}"]')).to_have_count(1)
    expect(promote.locator("button")).to_be_enabled()

    # The Stage's health changes.
    _patch_status(testbed_handle, f"{ns}/stages/dev", {"health": {"status": "Degraded"}})
    expect(dev.locator(".badge")).to_have_attribute("data-status", "Degraded")

    # Promote from the page: the new Promotion shows without a reload, then its phase.
    promote.locator("select").select_option(name)
    promote.get_by_role("button", name="Promote").click()
    expect(page.locator("#toast")).to_contain_text("Promotion ")
    row = page.locator("tr[data-promotion]").first
    expect(row).to_contain_text("user:admin")
    promotion = row.get_attribute("data-promotion")
    assert promotion
    _patch_status(
        testbed_handle,
        f"{ns}/promotions/{promotion}",
        {"phase": "Succeeded", "message": "written by the test"},
    )
    expect(page.locator(f'tr[data-promotion="{promotion}"]')).to_contain_text("Succeeded")
    expect(page.locator(f'tr[data-promotion="{promotion}"]')).to_contain_text("written by the test")
    # A Freight chosen stays chosen when a change swaps the form; the form still works after
    # the swaps: a second Freight, chosen, then promoted.
    promote.locator("select").select_option(name)
    second = _create(testbed_handle, f"{ns}/freights", _freight("calm-heron", "1.0.1"))
    expect(promote.locator(f'option[value="{second["metadata"]["name"]}"]')).to_have_count(1)
    expect(promote.locator("select")).to_have_value(name)
    promote.locator("select").select_option(second["metadata"]["name"])
    promote.get_by_role("button", name="Promote").click()
    expect(page.locator("tr[data-promotion]")).to_have_count(2)
    assert page.evaluate("window.loadedOnce") == "pipeline-marker"  # never reloaded
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
    shot(page, screenshots, "pipeline-live")

    # The live part alone, as the page fetches it.
    fragment = page.request.get(f"/promotions/{project}?fragment=1")
    assert fragment.ok
    text = fragment.text()
    assert 'class="pipeline"' in text and "Recent promotions" in text
    assert not re.search(r"<html|<nav|id=\"live\"", text)
