"""A list longer than one screen: the page itself carries its first rows (pages.FIRST_PAINT) and
the script fetches the rest of its part right after, in order, live like the first rows. No
controller runs: the apps are written on the management cluster and stay as written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from tests.web.test_pages import JSON, api, login

from tidegate.testenv import handle, scenario, serverproc
from tidegate.web import pages

__all__ = ["api"]
pytestmark = pytest.mark.e2e
COUNT = pages.FIRST_PAINT + 15


def app(name: str, bed: handle.TestBed) -> dict[str, Any]:
    return scenario.application(
        name,
        repo_url="https://git.invalid/r.git",
        path="p",
        server=bed.clusters["dev"].server,
        namespace="parts",
        automated=False,
    )


@pytest.fixture(scope="module")
def names(testbed_handle: handle.TestBed, control_namespace: str) -> Iterator[list[str]]:
    """COUNT apps (odd numbers only, so others can be added between them)."""
    created = [f"part-{i * 2 + 1:03d}" for i in range(COUNT)]
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{control_namespace}/applications"
    with testbed_handle.admin_client("mgmt") as mgmt:
        for name in created:
            resp = mgmt.post(path, content=json.dumps(app(name, testbed_handle)), headers=JSON)
            assert resp.status_code == 201, resp.text
    yield created


def test_the_page_paints_its_first_rows_then_the_rest(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    names: list[str],
) -> None:
    cookies = {"argocd.token": server.login()}
    with httpx.Client(base_url=server.url, verify=False, cookies=cookies) as raw:
        resp = raw.get("/applications?view=list")  # httpx asks for gzip and decodes it
        html = resp.text
        rest_part = raw.get(
            "/applications?view=list&offset=" + str(pages.FIRST_PAINT) + "&fragment=rows"
        )
    assert html.count('<tr class="app" data-app="part-') == pages.FIRST_PAINT
    # The page is big (60 rows): sent gzipped; the rest of the part comes as a fragment.
    assert len(html) >= pages.GZIP_FROM and resp.headers.get("content-encoding") == "gzip"
    assert rest_part.text.count('<tr class="app"') == 15
    rest = re.search(r'data-rest="([^"]+)"', html)
    assert rest is not None and "offset=60" in rest.group(1).replace("&amp;", "&")

    page = context.new_page()
    login(page, server, "/applications?view=list")
    rows = page.locator("#app-container .app")
    expect(rows).to_have_count(COUNT)
    assert rows.evaluate_all("els => els.map(e => e.dataset.app)") == names
    expect(page.locator('[data-count="total"]')).to_have_text(str(COUNT))
    expect(page.locator("#live")).to_have_attribute("data-state", "live")

    # Live in the fetched part too: an app added between two of its rows, one deleted.
    mgmt_path = f"/apis/argoproj.io/v1alpha1/namespaces/{control_namespace}/applications"
    with testbed_handle.admin_client("mgmt") as mgmt:
        resp = mgmt.post(
            mgmt_path, content=json.dumps(app("part-130", testbed_handle)), headers=JSON
        )
        assert resp.status_code == 201, resp.text
        assert mgmt.delete(f"{mgmt_path}/{names[-1]}").status_code == 200
    expected = sorted([*names[:-1], "part-130"])
    expect(rows).to_have_count(len(expected))
    expect(page.locator('[data-app="part-130"]')).to_be_visible()
    assert rows.evaluate_all("els => els.map(e => e.dataset.app)") == expected
    expect(page.locator('[data-count="total"]')).to_have_text(str(len(expected)))
