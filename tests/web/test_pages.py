"""The web UI in a real browser (Debian's Chromium through Playwright) against a real
``tidegate server`` and the real controller on the shared test bed.

Each test saves screenshots of the pages it visits under tests/web/screenshots/ (ignored by
git): look at them, they are what users judge.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect
from tests.web.waiting import until

from tidegate.testenv import gitrepos, handle, procs, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
SETTINGS = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  color: blue\n"
EXTRA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  size: large\n"
SECRET_VALUE = "s3cr3t-web-value"
SECRET = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n"
    f"stringData:\n  password: {SECRET_VALUE}\n"
)
XSS_SCRIPT = "<script>window.__xss = 'script'</script>"
XSS_IMG = "<img src=x onerror=\"window.__xss = 'img'\">"


@pytest.fixture(scope="module")
def repo(
    testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory
) -> tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy]:
    assert testbed_handle.git is not None
    src = tmp_path_factory.mktemp("repo")
    (src / "app").mkdir()
    (src / "app" / "settings.yaml").write_text(SETTINGS)
    (src / "app" / "extra.yaml").write_text(EXTRA)
    info = testbed_handle.git.create_repo(from_dir=src)
    work = testbed_handle.git.working_copy(info, tmp_path_factory.mktemp("work") / "w")
    return info, work


@pytest.fixture
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


def make_app(
    api: httpx.Client,
    bed: handle.TestBed,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    prefix: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    path: str = "app",
) -> tuple[str, str]:
    """A manual-sync app deploying ``path`` of the module's repo to a fresh namespace."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    dest = f"web-{secrets.token_hex(3)}"
    app: dict[str, Any] = scenario.application(
        name,
        repo_url=repo[0].http_url,
        path=path,
        server=bed.clusters["dev"].server,
        namespace=dest,
        automated=False,
    )
    app["metadata"]["labels"] = labels or {}
    app["metadata"]["annotations"] = annotations or {}
    resp = api.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
    assert resp.status_code == 200, resp.text
    return name, dest


def get_app(api: httpx.Client, name: str) -> dict[str, Any]:
    resp = api.get(f"/api/v1/applications/{name}")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def status_of(api: httpx.Client, name: str) -> dict[str, Any]:
    return get_app(api, name).get("status") or {}


def compared(api: httpx.Client, name: str) -> bool:
    return bool(status_of(api, name).get("resources"))


def synced(api: httpx.Client, name: str) -> bool:
    app = get_app(api, name)
    status = app.get("status") or {}
    done = (status.get("operationState") or {}).get("phase") == "Succeeded"
    return done and not app.get("operation") and status["sync"]["status"] == "Synced"


def login(page: Page, server: serverproc.ServerProcess, path: str = "/applications") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?"))
    page.get_by_label("Password").fill(server.admin_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path.split("?")[0]) + r"(\?|$)"))


def configmap_exists(bed: handle.TestBed, namespace: str, name: str) -> bool:
    with bed.admin_client("dev") as dev:
        resp = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        return resp.status_code == 200


def shot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


def test_login_through_the_form(
    context: BrowserContext, server: serverproc.ServerProcess, screenshots: Path
) -> None:
    page = context.new_page()
    page.goto("/applications?view=list")
    expect(page).to_have_url(re.compile(r"/login\?.*reason=required"))
    expect(page.locator("#login-reason")).to_have_text("Log in to see this page.")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#login-error")).to_have_text("Invalid username or password")
    shot(page, screenshots, "login")
    page.get_by_label("Password").fill(server.admin_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/applications\?view=list$"))
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["argocd.token"]["httpOnly"] is True
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-reason")).to_have_text("You have logged out.")
    page.goto("/applications")
    expect(page).to_have_url(re.compile(r"/login\?"))


def test_list_filters_kept_in_the_url(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    screenshots: Path,
) -> None:
    alpha, _ = make_app(api, testbed_handle, repo, "alpha", labels={"team": "alpha"})
    beta, _ = make_app(api, testbed_handle, repo, "beta", labels={"team": "beta"})
    page = context.new_page()
    login(page, server)
    tiles = page.locator("#app-container .app")
    expect(page.locator(f'[data-app="{alpha}"]')).to_be_visible()
    expect(page.locator(f'[data-app="{beta}"]')).to_be_visible()
    expect(page.locator("#live")).to_have_text("live")
    shot(page, screenshots, "applications-tiles")

    page.evaluate("window.__samePage = true")
    page.locator("#filters").get_by_label("team=alpha").check()
    expect(page).to_have_url(re.compile(r"labels=team%3Dalpha"))
    expect(tiles).to_have_count(1)
    assert page.evaluate("window.__samePage") is True  # swapped in place, not a page load
    expect(page.locator("#filters").get_by_label("team=alpha")).to_be_focused()
    expect(page.locator(f'[data-app="{alpha}"]')).to_be_visible()
    expect(page.locator('[data-count="total"]')).to_have_text("1")
    page.reload()  # the filter is in the URL: a reload (or a shared link) keeps it
    expect(tiles).to_have_count(1)
    expect(page.locator("#filters").get_by_label("team=alpha")).to_be_checked()

    page.get_by_role("link", name="☰ List").click()
    expect(page).to_have_url(re.compile(r"view=list"))
    expect(page.locator("table.app-table tbody .app")).to_have_count(1)
    shot(page, screenshots, "applications-list-filtered")

    page.keyboard.press("/")
    expect(page.locator("#filter-search")).to_be_focused()
    page.goto(f"/applications?view=list&search={beta}")
    expect(tiles).to_have_count(1)
    expect(page.locator(f'[data-app="{beta}"]')).to_be_visible()

    # Favourites live in the browser (localStorage): star beta, then show favourites only.
    page.goto("/applications")
    page.locator(f'[data-app="{beta}"] [data-action="favourite"]').click()
    page.locator("#filters").get_by_label("Favourites only").check()
    expect(page).to_have_url(re.compile(r"showFavorites=true"))
    expect(page.locator("#app-container .app:visible")).to_have_count(1)
    expect(page.locator(f'[data-app="{beta}"]')).to_be_visible()

    # Live without reload: an app created now appears in the open, unfiltered list; a list
    # cut short (?limit=) shows only its first apps but counts every one (the summary).
    page.goto("/applications")
    expect(page.locator("#live")).to_have_text("live")
    short = context.new_page()
    total = int(page.locator('[data-count="total"]').inner_text())
    short.goto("/applications?limit=1")
    expect(short.locator("#app-container .app")).to_have_count(1)
    expect(short.get_by_role("link", name="Show more")).to_be_visible()
    expect(short.locator('[data-count="total"]')).to_have_text(str(total))
    expect(short.locator("#live")).to_have_text("live")
    gamma, _ = make_app(api, testbed_handle, repo, "gamma", labels={"team": "gamma"})
    expect(page.locator(f'[data-app="{gamma}"]')).to_be_visible()
    expect(short.locator('[data-count="total"]')).to_have_text(str(total + 1))
    expect(short.locator(f'[data-app="{gamma}"]')).to_have_count(0)
    for name in (alpha, beta, gamma):  # never synced: nothing to cascade to
        api.request("DELETE", f"/api/v1/applications/{name}?cascade=false", headers=JSON)
    expect(page.locator(f'[data-app="{gamma}"]')).to_have_count(0)


def test_tree_sync_with_prune_live_in_a_second_page_and_rollback(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    screenshots: Path,
) -> None:
    _info, work = repo
    work.git("pull", "--quiet")
    work.commit(
        {"sync/settings.yaml": SETTINGS, "sync/extra.yaml": EXTRA, "sync/secret.yaml": SECRET},
        "two config maps and a secret",
    )
    name, dest = make_app(api, testbed_handle, repo, "sync", path="sync")
    until(lambda: compared(api, name), within=90)
    page = context.new_page()
    login(page, server, f"/applications/{scenario_ns(server)}/{name}")
    watcher = context.new_page()  # the second page: never reloaded
    watcher.goto(f"/applications/{scenario_ns(server)}/{name}")
    expect(watcher.locator("#live")).to_have_text("live")
    head_sync = watcher.locator(".app-head .badge[data-kind=sync]")
    expect(head_sync).to_have_attribute("data-status", "OutOfSync")

    # The tree: the Application and the two ConfigMaps and the Secret it manages.
    nodes = page.locator(".tree-children .node")
    expect(nodes).to_have_count(3)
    expect(nodes.locator(".node-name")).to_have_text(["extra", "settings", "token"])
    shot(page, screenshots, "application-tree-out-of-sync")

    page.get_by_role("button", name="⟳ Sync").click()
    dialog = page.locator("#sync-dialog")
    expect(dialog.locator("#sync-resources input")).to_have_count(3)
    shot(page, screenshots, "sync-dialog")
    dialog.get_by_role("button", name="Synchronize").click()
    expect(dialog).to_be_hidden()
    expect(head_sync).to_have_attribute("data-status", "Synced", timeout=90_000)
    expect(watcher.locator(".app-head .phase")).to_have_text("Succeeded")
    assert configmap_exists(testbed_handle, dest, "extra")
    first = status_of(api, name)["sync"]["revision"]

    # A node's manifests and diff (managed-resources), the Secret's value masked.
    page.locator('.tree-children .node[data-node="/ConfigMap/' + dest + '/settings"]').click()
    panel = page.locator("#node-dialog")
    manifest = panel.locator(".manifest")
    expect(manifest).to_contain_text('"color": "blue"')
    panel.get_by_role("button", name="Desired manifest").click()
    expect(manifest).to_contain_text('"color": "blue"')
    panel.get_by_role("button", name="Diff").click()
    expect(panel).to_contain_text("No difference.")
    panel.get_by_role("button", name="Close").click()
    page.locator('.tree-children .node[data-node="/Secret/' + dest + '/token"]').click()
    panel.get_by_role("button", name="Live manifest").click()
    expect(manifest).to_contain_text("++++++++")
    shot(page, screenshots, "node-secret-masked")
    assert SECRET_VALUE not in page.content()
    panel.get_by_role("button", name="Close").click()

    # Remove one manifest from git: after a refresh it waits to be pruned.
    work.commit({}, "drop extra", delete=["sync/extra.yaml"])
    page.get_by_role("button", name="↻ Hard refresh").click()
    prune_node = watcher.locator('.tree-children .node[data-node="/ConfigMap/' + dest + '/extra"]')
    expect(prune_node).to_contain_text("requires pruning", timeout=60_000)
    page.get_by_role("tab", name="List").click()  # the list comes when it is opened
    expect(page.locator('tr[data-name="extra"]')).to_contain_text("requires pruning")
    expect(page.locator(".panel-list[data-pending]")).to_have_count(0)
    shot(page, screenshots, "application-list-requires-pruning")

    page.get_by_role("button", name="⟳ Sync").click()
    dialog.get_by_label("Prune").check()
    dialog.get_by_role("button", name="Synchronize").click()
    expect(watcher.locator(".tree-children .node")).to_have_count(2, timeout=90_000)
    expect(head_sync).to_have_attribute("data-status", "Synced")
    until(lambda: not configmap_exists(testbed_handle, dest, "extra"), within=60)
    shot(watcher, screenshots, "application-tree-synced")

    # History and rollback to the first deployment: the pruned ConfigMap comes back.
    page.get_by_role("tab", name="Details").focus()  # the views answer the arrow keys
    page.keyboard.press("ArrowLeft")
    expect(page.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")
    expect(page).to_have_url(re.compile(r"view=history"))
    rows = page.locator(".panel-history tbody tr")
    expect(rows).to_have_count(2)
    shot(page, screenshots, "application-history")
    page.locator(f'.panel-history button[data-revision="{first[:12]}"]').click()
    rollback = page.locator("#rollback-dialog")
    expect(rollback.locator('[data-f="history-revision"]')).to_have_text(first[:12])
    rollback.get_by_role("button", name="Rollback").click()
    expect(rollback).to_be_hidden()
    until(lambda: configmap_exists(testbed_handle, dest, "extra"), within=90)
    expect(watcher.locator(".tree-children .node")).to_have_count(3, timeout=60_000)
    op = status_of(api, name)["operationState"]
    assert op["syncResult"]["revision"] == first


def scenario_ns(server: serverproc.ServerProcess) -> str:
    return server.namespace


def test_an_expired_session_keeps_the_dialog_input(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
) -> None:
    name, _ = make_app(api, testbed_handle, repo, "expire")
    path = f"/applications/{server.namespace}/{name}"
    page = context.new_page()
    login(page, server, path)
    page.get_by_role("button", name="⟳ Sync").click()
    dialog = page.locator("#sync-dialog")
    dialog.get_by_label("Revision").fill("feature-typed")
    dialog.get_by_label("Dry run").check()
    context.clear_cookies()  # the session ends while the dialog is open
    dialog.get_by_role("button", name="Synchronize").click()
    expect(page).to_have_url(re.compile(r"/login\?.*reason=expired"))
    expect(page.locator("#login-reason")).to_contain_text("expired")
    page.get_by_label("Password").fill(server.admin_password())
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(path)))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Revision")).to_have_value("feature-typed")
    expect(dialog.get_by_label("Dry run")).to_be_checked()
    dialog.get_by_role("button", name="Cancel").click()
    assert "operation" not in get_app(api, name)  # nothing was requested meanwhile
    api.request("DELETE", f"/api/v1/applications/{name}?cascade=false", headers=JSON)


@pytest.mark.parametrize("cascade", [True, False], ids=["cascade", "non-cascading"])
def test_delete_from_the_dialog(
    cascade: bool,
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    screenshots: Path,
) -> None:
    name, dest = make_app(api, testbed_handle, repo, "del")
    until(lambda: compared(api, name), within=90)
    api.post(f"/api/v1/applications/{name}/sync", content="{}", headers=JSON)
    until(lambda: synced(api, name), within=90)
    assert configmap_exists(testbed_handle, dest, "settings")
    page = context.new_page()
    login(page, server, f"/applications/{server.namespace}/{name}")
    page.get_by_role("button", name="✕ Delete").click()
    dialog = page.locator("#delete-dialog")
    if not cascade:
        dialog.get_by_label("Non-cascading: keep its resources").check()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog.locator(".error")).to_have_text(f"Type {name} to confirm.")
    dialog.get_by_label("Type the application's name to confirm").fill(name)
    if cascade:
        shot(page, screenshots, "delete-dialog")
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/applications$"), timeout=90_000)
    until(lambda: api.get(f"/api/v1/applications/{name}").status_code == 404, within=90)
    if cascade:
        until(lambda: not configmap_exists(testbed_handle, dest, "settings"), within=60)
    else:
        assert configmap_exists(testbed_handle, dest, "settings")


def test_html_in_user_strings_is_shown_as_text(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    screenshots: Path,
) -> None:
    name, _ = make_app(
        api,
        testbed_handle,
        repo,
        "xss",
        labels={"team": "x-script-x"},
        annotations={"note": XSS_SCRIPT, "img": XSS_IMG},
    )
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    login(page, server, f"/applications/{server.namespace}/{name}?view=details")
    details = page.locator(".panel-details")
    expect(details).to_contain_text(f"note={XSS_SCRIPT}")
    expect(details).to_contain_text(f"img={XSS_IMG}")
    shot(page, screenshots, "application-details-xss")
    page.get_by_role("tab", name="Events").click()  # read through GET .../events
    expect(page.locator("#events")).not_to_contain_text("Loading")
    expect(page.locator("#events .event, #events p.dim").first).to_be_visible()
    # A selector typed into the URL comes back in an error message: as text.
    page.goto("/applications?labels=" + XSS_IMG)
    expect(page.locator(".apps .error")).to_contain_text(XSS_IMG[:20])
    page.goto("/applications?search=" + XSS_SCRIPT)
    expect(page.locator("#filter-search")).to_have_value(XSS_SCRIPT)
    # A login link cannot send the user to another site.
    page.goto("/login?next=//evil.example/")
    assert page.locator("#login-form").get_attribute("data-next") == "/applications"
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert page.locator("img[src=x]").count() == 0
    api.request("DELETE", f"/api/v1/applications/{name}?cascade=false", headers=JSON)


def test_applicationsets_clusters_repositories_projects(
    context: BrowserContext,
    server: serverproc.ServerProcess,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    screenshots: Path,
) -> None:
    name = f"set-{secrets.token_hex(3)}"
    dest = f"web-{secrets.token_hex(3)}"
    appset = {
        "metadata": {"name": name},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "qa"}]}}],
            "template": {
                "metadata": {"name": "{{env}}-" + name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": repo[0].http_url, "path": "app"},
                    "destination": {
                        "server": testbed_handle.clusters["dev"].server,
                        "namespace": dest,
                    },
                },
            },
        },
    }
    resp = api.post("/api/v1/applicationsets", content=json.dumps(appset), headers=JSON)
    assert resp.status_code == 200, resp.text
    until(lambda: api.get(f"/api/v1/applications/qa-{name}").status_code == 200, within=90)
    page = context.new_page()
    login(page, server, "/applicationsets")
    section = page.locator(f'[data-appset="{name}"]')
    expect(section.locator(".appset-name")).to_have_text(name)
    expect(section).to_contain_text("generators: list")
    expect(section.get_by_role("link", name=f"qa-{name}")).to_be_visible()
    shot(page, screenshots, "applicationsets")

    page.get_by_role("link", name="Clusters").click()
    expect(page).to_have_url(re.compile(r"/settings/clusters$"))
    dev = page.locator('tr[data-cluster="dev"]')
    expect(dev).to_contain_text(testbed_handle.clusters["dev"].server)
    expect(dev.locator(".app-counts strong")).not_to_have_text("0")
    shot(page, screenshots, "clusters")

    page.get_by_role("link", name="Repositories").click()
    expect(page).to_have_url(re.compile(r"/settings/repos$"))
    shot(page, screenshots, "repositories")

    page.get_by_role("link", name="Projects").click()
    default = page.locator('tr[data-project="default"]')
    expect(default).to_contain_text("apps")
    shot(page, screenshots, "projects")
    default.get_by_role("link", name="default").click()
    expect(page).to_have_url(re.compile(r"/applications\?proj=default$"))
    expect(page.locator(f'[data-app="qa-{name}"]')).to_be_visible()

    api.request("DELETE", f"/api/v1/applicationsets/{name}", headers=JSON)


def test_the_list_reconnects_by_itself_after_a_drop(
    browser: Browser,
    control_namespace: str,
    api: httpx.Client,
    repo: tuple[gitrepos.RepoInfo, gitrepos.WorkingCopy],
    testbed_handle: handle.TestBed,
    tmp_path: Path,
) -> None:
    """A server of its own on a fixed port, stopped and started again: the stream drops, the
    open page shows it, reconnects by itself and catches up with what changed meanwhile."""
    port = procs.free_port()
    own = serverproc.ServerProcess(
        testbed_handle, control_namespace, log=tmp_path / "server.log", extra=[f"--port={port}"]
    ).start()
    context = browser.new_context(base_url=own.url, ignore_https_errors=True)
    try:
        name, _ = make_app(api, testbed_handle, repo, "drop", labels={"phase": "one"})
        page = context.new_page()
        login(page, own, f"/applications?search={name}")
        live = page.locator("#live")
        expect(live).to_have_text("live")
        own.stop()
        expect(live).to_have_text("reconnecting")
        patch = {"metadata": {"labels": {"phase": "two"}}}
        resp = api.patch(
            f"/api/v1/applications/{name}",
            content=json.dumps({"patch": json.dumps(patch), "patchType": "merge"}),
            headers=JSON,
        )
        assert resp.status_code == 200, resp.text
        own.start()
        expect(live).to_have_text("live", timeout=60_000)
        expect(page.locator(f'[data-app="{name}"] [data-f="labels"]')).to_have_text("phase=two")
        api.request("DELETE", f"/api/v1/applications/{name}?cascade=false", headers=JSON)
    finally:
        context.close()
        own.stop()
