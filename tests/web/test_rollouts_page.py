"""The Rollouts page: a canary deployed by an app from Git, paused at its first step, shown with
its phase, step and weight; Promote through the resource actions API and the page follows it
to the end without a reload; a read-only user's buttons are disabled with the rule. Real
server, controller (with its Rollouts controller, on this module's instance id), Git and
destination."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import BrowserContext, expect
from tests.rollouts.e2e.conftest import tidegate
from tests.web import gitapps
from tests.web.gitapps import health
from tests.web.test_access_audit import PASSWORD, login_as, viewer
from tests.web.test_pages import api, login, shot
from tests.web.waiting import until

from tidegate.testenv import gitrepos, handle, scenario, serverproc

__all__ = ["api", "viewer"]
pytestmark = pytest.mark.e2e
INSTANCE = f"web-{secrets.token_hex(3)}"
STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 100}]


@pytest.fixture(scope="module")
def controller_extra() -> list[str]:
    return ["--rollouts-instance-id", INSTANCE]


def rollout(image: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {
                "name": "web",
                "labels": {"argo-rollouts.argoproj.io/controller-instance-id": INSTANCE},
            },
            "spec": {
                "replicas": 5,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]},
                },
                "strategy": {"canary": {"steps": STEPS}},
            },
        }
    )


@pytest.fixture(scope="module")
def canary(
    testbed_handle: handle.TestBed,
    tmp_path_factory: pytest.TempPathFactory,
    server: serverproc.ServerProcess,
    token: str,
    controller: scenario.ControllerProcess,
) -> Iterator[tuple[str, str, gitrepos.WorkingCopy]]:
    """An automated app of a canary Rollout (v1), Healthy (Argo Rollouts' CRDs put on dev first,
    where missing: a fresh bed has none)."""
    kubeconfig = str(testbed_handle.clusters["dev"].kubeconfig)
    done = tidegate("rollouts-controller", f"--kubeconfig={kubeconfig}", "--install-crds")
    assert done.returncode == 0, done.stderr
    files = {"rollout.yaml": rollout("registry.invalid/web:v1")}
    workdir = tmp_path_factory.mktemp("canary")
    with gitapps.healthy_app(
        testbed_handle, workdir, server, token, files, prefix="canary", within=180
    ) as made:
        yield made


def test_promote_a_paused_canary_from_the_rollouts_page(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    canary: tuple[str, str, gitrepos.WorkingCopy],
    screenshots: Path,
) -> None:
    name, dest, work = canary
    work.commit({"app/rollout.yaml": rollout("registry.invalid/web:v2")}, "v2")
    until(lambda: health(api, name) == "Suspended", within=180)

    page = context.new_page()
    login(page, server, "/rollouts")
    row = page.locator(f'tr[data-rollout="{dest}/web"]')
    expect(row).to_have_attribute("data-phase", "Paused")
    expect(row.locator('[data-f="step"]')).to_have_text("1/3")
    expect(row.locator('[data-f="weight"]')).to_have_text("20%")
    expect(row.get_by_role("link", name=name)).to_have_attribute(
        "href", f"/applications/{server.namespace}/{name}"
    )
    promote = row.get_by_role("button", name="Promote", exact=True)
    expect(promote).to_be_enabled()
    expect(row.get_by_role("button", name="Abort")).to_be_enabled()
    page.evaluate("() => { window.notReloaded = true; }")
    shot(page, screenshots, "rollouts-paused")

    promote.click()
    expect(row.locator('[data-f="weight"]')).to_have_text("100%", timeout=60_000)
    until(lambda: health(api, name) == "Healthy", within=180)  # old pods gone: the app says so
    expect(row).to_have_attribute("data-phase", "Healthy")
    expect(row.locator('[data-f="step"]')).to_have_text("3/3")
    expect(row.locator('[data-f="weight"]')).to_have_text("100%")
    # Promote is offered only while paused: now disabled, with the reason.
    expect(row.get_by_role("button", name="Promote", exact=True)).to_be_disabled()
    expect(row.get_by_role("button", name="Promote", exact=True)).to_have_attribute(
        "title", "web is not paused: nothing to promote"
    )
    assert page.evaluate("() => window.notReloaded") is True
    shot(page, screenshots, "rollouts-promoted")


def test_a_readonly_user_may_not_promote(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    viewer: str,
    canary: tuple[str, str, gitrepos.WorkingCopy],
) -> None:
    name, dest, _ = canary
    page = context.new_page()
    login_as(page, viewer, PASSWORD, "/rollouts")
    row = page.locator(f'tr[data-rollout="{dest}/web"]')
    abort = row.get_by_role("button", name="Abort")
    expect(abort).to_be_disabled()
    expect(abort).to_have_attribute(
        "title",
        "Your role may not run abort on Rollouts of project default "
        f"(applications, action/argoproj.io/Rollout/abort, default/{name})",
    )
