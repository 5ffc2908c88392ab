"""Benchmark of the web UI with many applications, in Debian's Chromium (issue 12).

Set-up (not timed): Tidegate installed in a control namespace of the bench's own on ``mgmt``,
``--apps`` Applications (default 10,000) created directly on the management cluster (as
``api_bench.py`` creates them), ``tidegate server`` as a process, an admin session put into the
browser as the ``argocd.token`` cookie. No controller runs.

Measured, each ``--samples`` times, with the browser's own clock (Navigation/Paint Timing):
- the application list's first contentful paint (target < 1 s), when the page is complete
  (DOMContentLoaded), and by when all 300 rows of its part are in place (the page carries the
  first 60, the script fetches the rest; measured when the check runs, after the first paint
  is known, so it is an upper bound);
- a filter (a name typed into the search box, submitted): until the new list is in place and
  painted (target < 200 ms);
- a change written through the API (a label) until the open list shows it (target < 1 s);
- an app of 300 resources (its ``status.resources`` written as the controller writes them):
  its page's first contentful paint with the whole tree in it (target < 1 s); the page also
  reads the app's live children from the destination, as it always does;
- a status change written on the management cluster (as the controller writes it: health
  Healthy -> Degraded and back) until the open application page shows it (target < 1 s).

With ``--only tree`` only the application page is measured (still among ``--apps`` apps): its
body's size, its fetch without a browser (the page and its ``?fragment=1`` live update), and in
the browser the first byte, the last byte, DOM interactive, first paint and DOMContentLoaded.

    TIDEGATE_TESTENV_DIR=/tmp/tb .venv/bin/python bench/ui_bench.py [--apps 10000] [--samples 5]
        [--only tree]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench
import common

from tidegate.testenv import scenario, serverproc

LIST_PAINT_TARGET = 1.0
FILTER_PAINT_TARGET = 0.2
CHANGE_TARGET = 1.0
TREE_TARGET = 1.0
TREE_RESOURCES = 300
TREE_KINDS = (
    ("apps", "Deployment"),
    ("", "Service"),
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "ServiceAccount"),
)
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {
    fcp: fcp ? fcp.startTime : null,
    dcl: nav.domContentLoadedEventEnd,
    server: nav.responseStart - nav.requestStart,
    received: nav.responseEnd,
    interactive: nav.domInteractive,
    size: nav.decodedBodySize,
  };
}"""

# When the list's whole part (its first rows and the rest fetched after them) is in place.
COMPLETE = """(count) => new Promise((resolve) => {
  const check = () => {
    const main = document.getElementById("main");
    const rows = document.querySelectorAll("#app-container .app").length;
    if (main.dataset.restPending !== "true" && rows >= count) resolve(performance.now());
    else requestAnimationFrame(check);
  };
  check();
})"""

# Type a name into the search box and submit: time until the new list is in place and painted.
FILTER = """(name) => new Promise((resolve) => {
  const started = performance.now();
  document.addEventListener("tidegate:list", () => requestAnimationFrame(() =>
    resolve(performance.now() - started)), {once: true});
  document.getElementById("filter-search").value = name;
  document.getElementById("filters").requestSubmit();
})"""


def _timings(page: Page, url: str) -> dict[str, Any]:
    page.goto(url, wait_until="load")
    page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length > 0")
    result: dict[str, Any] = page.evaluate(TIMINGS)
    return result


def _report(label: str, samples: list[float], target: float) -> None:
    worst = max(samples)
    common.row(f"{label}, worst", f"{worst * 1000:.0f} ms ({common.verdict(worst, target)})")
    common.row(label, common.spread([s * 1000 for s in samples], "ms", 0))


def big_app(server: str) -> dict[str, Any]:
    """An app whose status lists TREE_RESOURCES resources, Synced and Healthy."""
    app = api_bench._app("big-tree", server, 0)
    resources = [
        {
            "group": group,
            "version": "v1",
            "kind": kind,
            "namespace": "team-0",
            "name": f"{kind.lower()}-{i:03d}",
            "status": "Synced",
            "health": {"status": "Healthy"},
        }
        for i in range(TREE_RESOURCES // len(TREE_KINDS))
        for group, kind in TREE_KINDS
    ]
    app["status"] = {
        "resources": resources,
        "sync": {"status": "Synced", "revision": "0" * 40},
        "health": {"status": "Healthy"},
    }
    return app


def _write_health(client: Any, control: str, name: str, health: str) -> None:
    """Change an app's health on the management cluster, as the controller writes it (on a
    connection already open, as the controller's is)."""
    resp = client.patch(
        f"/apis/argoproj.io/v1alpha1/namespaces/{control}/applications/{name}",
        content=json.dumps({"status": {"health": {"status": health}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    resp.raise_for_status()


def _ms(samples: list[float]) -> str:
    return common.spread([s * 1000 for s in samples], "ms", 0)


def _page_fetches(
    server: Any, token: str, url: str, samples: int
) -> tuple[list[float], tuple[int, int]]:
    """The page fetched without a browser (same session, accepting gzip as a browser does):
    seconds to the last byte (the server's render plus loopback transfer), and the body's size
    in bytes as rendered and as sent."""
    times, size, sent = [], 0, 0
    with server.client(token=token) as client:
        client.cookies.set("argocd.token", token)
        client.get(url).raise_for_status()  # warm-up
        for _ in range(samples):
            started = time.perf_counter()
            resp = client.get(url)
            times.append(time.perf_counter() - started)
            resp.raise_for_status()
            size, sent = len(resp.content), resp.num_bytes_downloaded
    return times, (size, sent)


def _tree(page: Page, bed: Any, server: Any, token: str, control: str, samples: int) -> None:
    with bed.admin_client("mgmt") as client:
        resp = client.post(
            f"/apis/argoproj.io/v1alpha1/namespaces/{control}/applications",
            content=json.dumps(big_app(bed.clusters["dev"].server)),
            headers={"Content-Type": "application/json"},
        )
        resp.raise_for_status()
    url = f"/applications/{control}/big-tree"
    fetched, size = _page_fetches(server, token, url, samples)
    fragment, fragment_size = _page_fetches(server, token, url + "?fragment=1", samples)
    paints, loaded, nodes = [], [], 0
    firsts, received, interactive = [], [], []
    _timings(page, url)  # warm-up
    for _ in range(samples):
        t = _timings(page, url)
        paints.append(t["fcp"] / 1000)
        loaded.append(t["dcl"] / 1000)
        firsts.append(t["server"] / 1000)
        received.append(t["received"] / 1000)
        interactive.append(t["interactive"] / 1000)
        nodes = page.locator(".tree-children .node").count()
    common.header(f"application page, {TREE_RESOURCES} resources ({nodes} tree nodes)")
    common.row("page body (as sent)", f"{size[0] / 1024:.0f} KiB ({size[1] / 1024:.0f} KiB)")
    common.row("page fetched (render + loopback)", _ms(fetched))
    common.row(
        "live update body (?fragment=1, as sent)",
        f"{fragment_size[0] / 1024:.0f} KiB ({fragment_size[1] / 1024:.0f} KiB)",
    )
    common.row("live update fetched", _ms(fragment))
    common.row("browser: request -> first byte", _ms(firsts))
    common.row("browser: last byte received", _ms(received))
    common.row("browser: DOM interactive", _ms(interactive))
    _report("first contentful paint with the tree", paints, TREE_TARGET)
    common.row("DOMContentLoaded", common.spread([s * 1000 for s in loaded], "ms", 0))

    page.goto(url)
    page.wait_for_selector("#live[data-state=live]")
    changes = []
    with bed.admin_client("mgmt") as mgmt:
        _write_health(mgmt, control, "big-tree", "Healthy")  # the connection is open
        for i in range(samples):
            health = "Degraded" if i % 2 == 0 else "Healthy"
            started = time.perf_counter()
            _write_health(mgmt, control, "big-tree", health)
            page.wait_for_function(
                "h => document.querySelector('.app-head .badge[data-kind=health]')"
                ".dataset.status === h",
                arg=health,
            )
            changes.append(time.perf_counter() - started)
    common.header("a status change written on mgmt until the open application page shows it")
    _report("status write -> page updated", changes, CHANGE_TARGET)


def run(args: argparse.Namespace) -> None:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        control = f"tg-uibench-{secrets.token_hex(3)}"
        scenario.install(bed, control)
        server = None
        try:
            created = asyncio.run(api_bench._create_apps(bed, control, args.apps))
            common.header("set-up")
            common.row(f"created {args.apps} Applications on mgmt", f"{created:.1f} s")
            server = serverproc.ServerProcess(bed, control, log=Path(tmp) / "server.log").start()
            token = server.login()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                context = browser.new_context(
                    base_url=server.url,
                    ignore_https_errors=True,
                    viewport={"width": 1280, "height": 800},
                    bypass_csp=True,  # Playwright's polling evaluates strings; the pages forbid it
                )
                context.add_cookies([{"name": "argocd.token", "value": token, "url": server.url}])
                page = context.new_page()
                page.set_default_timeout(120_000)
                _timings(page, "/applications")  # warm-up: the server's hub loads the apps
                if args.only == "tree":
                    _tree(page, bed, server, token, control, args.samples)
                    browser.close()
                    return
                paints, loaded, complete, filtered = [], [], [], []
                for _ in range(args.samples):
                    t = _timings(page, "/applications")
                    paints.append(t["fcp"] / 1000)
                    loaded.append(t["dcl"] / 1000)
                    complete.append(page.evaluate(COMPLETE, min(args.apps, 300)) / 1000)
                page.goto("/applications")
                for i in range(args.samples):
                    wanted = f"app-{(i * 7919) % args.apps:05d}"
                    filtered.append(page.evaluate(FILTER, wanted) / 1000)
                common.header(f"application list, {args.apps} apps, Chromium at 1280 px")
                _report("first contentful paint", paints, LIST_PAINT_TARGET)
                common.row("DOMContentLoaded", common.spread([s * 1000 for s in loaded], "ms", 0))
                common.row(
                    "all 300 rows in place (at most)",
                    common.spread([s * 1000 for s in complete], "ms", 0),
                )
                _report("filter (search) until painted", filtered, FILTER_PAINT_TARGET)

                page.goto("/applications")
                page.wait_for_selector("#live[data-state=live]")
                changes = []
                with server.client(token=token) as api:
                    for i in range(args.samples):
                        value = f"v{i}-{secrets.token_hex(2)}"
                        patch = {"metadata": {"labels": {"bench": value}}}
                        body = {"patch": json.dumps(patch), "patchType": "merge"}
                        started = time.perf_counter()
                        resp = api.patch(
                            "/api/v1/applications/app-00000",
                            content=json.dumps(body),
                            headers={"Content-Type": "application/json"},
                        )
                        resp.raise_for_status()
                        page.wait_for_function(
                            'v => document.querySelector(\'[data-app="app-00000"] '
                            "[data-f=labels]').textContent.includes('bench=' + v)",
                            arg=value,
                        )
                        changes.append(time.perf_counter() - started)
                common.header("a change through the API until the open list shows it")
                _report("PATCH -> tile updated", changes, CHANGE_TARGET)
                _tree(page, bed, server, token, control, args.samples)
                browser.close()
        finally:
            if server is not None:
                server.stop()
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument(
        "--only",
        choices=("all", "tree"),
        default="all",
        help="tree: only the application page of 300 resources (its body, fetch, paint, update)",
    )
    run(parser.parse_args())


if __name__ == "__main__":
    main()
