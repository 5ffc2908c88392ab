"""The promotion pipeline end to end: an image pushed to the test bed's registry becomes Freight,
is committed to dev's overlay and synced there by the real controller, follows to staging once
verified, waits for prod's approval, and rolls back by promoting the earlier Freight."""

from __future__ import annotations

import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import platformdirs
import pytest

from tidegate.analysis import crds as analysis_crds
from tidegate.store import audit
from tidegate.testenv import pipeline as pipeline_mod
from tidegate.testenv import procs, registry, scenario
from tidegate.testenv.pipeline import Pipeline

pytestmark = pytest.mark.e2e
WEBHOOK_SECRET = "hook-" + secrets.token_hex(8)
SHARD = "pipeline-" + secrets.token_hex(3)
# Git is polled every 3 minutes only: a promotion's app must be compared with the pushed commit
# because argocd-update asks for a refresh, not because a poll happens to come.
APP_RESYNC = 180


METRICS_PORT = procs.free_port()


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return [f"--promotions-shard={SHARD}", f"--metrics-port={METRICS_PORT}"]


@pytest.fixture(scope="module")
def pipeline(gitops: scenario.GitOps) -> Iterator[Pipeline]:
    p = pipeline_mod.setup(gitops, webhook_secret=WEBHOOK_SECRET, shard=SHARD)
    yield p
    pipeline_mod.teardown(p)


def test_push_flows_to_dev_and_staging_then_prod_on_approval(pipeline: Pipeline) -> None:
    p = pipeline
    pipeline_mod.push(p, "1.0.0")
    first = p.wait("Freight for 1.0.0", lambda: p.freight_for("1.0.0"))
    name = first["metadata"]["name"]
    assert len(name) == 40 and first["alias"] and first["origin"]["name"] == "guestbook"
    p.wait(
        "dev and staging on 1.0.0",
        lambda: p.current("dev") == name and p.current("staging") == name,
        timeout=180,
    )
    assert p.overlay_tag("dev") == p.overlay_tag("staging") == "1.0.0"
    assert p.live_image("staging") == f"{p.image}:1.0.0"
    assert p.current("prod") == "", "prod has no auto-promotion: it waits"
    # prod: approved, then promoted by hand.
    pipeline_mod.push(p, "1.0.1")
    second = p.wait("Freight for 1.0.1", lambda: p.freight_for("1.0.1"))
    p.wait(
        "staging on 1.0.1", lambda: p.current("staging") == second["metadata"]["name"], timeout=180
    )
    p.wait(
        "1.0.1 verified in staging",
        lambda: "staging" in (p.freight_for("1.0.1") or {}).get("status", {}).get("verifiedIn", {}),
    )
    approve = pipeline_mod.tidegate(
        p.kubeconfig,
        "approve",
        f"--project={p.project}",
        "--stage=prod",
        f"--freight-alias={second['alias']}",
    )
    assert approve.returncode == 0, approve.stderr
    promote = pipeline_mod.tidegate(
        p.kubeconfig,
        "promote",
        f"--project={p.project}",
        "--stage=prod",
        f"--freight={second['metadata']['name']}",
    )
    assert promote.returncode == 0, promote.stderr
    p.wait("prod on 1.0.1", lambda: p.current("prod") == second["metadata"]["name"], timeout=120)
    assert p.live_image("prod") == f"{p.image}:1.0.1"
    # Rollback: promoting the earlier Freight goes through Git as well, and keeps history.
    p.work.git("fetch", "--quiet")
    commits_before = p.work.git("rev-list", "--count", "origin/main").strip()
    rollback = pipeline_mod.tidegate(
        p.kubeconfig, "promote", f"--project={p.project}", "--stage=prod", f"--freight={name}"
    )
    assert rollback.returncode == 0, rollback.stderr
    p.wait("prod back on 1.0.0", lambda: p.current("prod") == name, timeout=120)
    assert p.overlay_tag("prod") == "1.0.0"
    p.work.git("fetch", "--quiet")
    assert int(p.work.git("rev-list", "--count", "origin/main")) == int(commits_before) + 1
    history = [h["id"] for h in p.stage("prod")["status"]["freightHistory"]]
    assert history[:2] == [name, second["metadata"]["name"]]
    listed = pipeline_mod.tidegate(
        p.kubeconfig, "promotion", "list", f"--project={p.project}", "-o", "json"
    )
    phases = {(i["spec"]["stage"], i["status"]["phase"]) for i in json.loads(listed.stdout)}
    assert ("prod", "Succeeded") in phases and not any(ph == "Failed" for _, ph in phases)

    def promotion_events() -> list[dict[str, Any]]:
        with p.gitops.mgmt() as client:
            listed = client.get(
                f"/api/v1/namespaces/{p.project}/events",
                params={"fieldSelector": "involvedObject.kind=Promotion"},
            ).json()["items"]
        return [e for e in listed if e["reason"] in ("PromotionSucceeded", "PromotionCreated")]

    seen = p.wait(
        "the promotions' events", lambda: len(promotion_events()) >= 4 and promotion_events()
    )
    reasons = {e["reason"] for e in seen}
    assert reasons == {"PromotionSucceeded", "PromotionCreated"}
    assert any("requested by cli:" in e["message"] and "Stage prod" in e["message"] for e in seen)
    # The controller's /metrics counts them (Tidegate's own delivery metrics).
    scraped = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10).text
    prod = [
        line
        for line in scraped.splitlines()
        if line.startswith("tidegate_promotions_total{")
        and f'project="{p.project}"' in line
        and 'stage="prod"' in line
        and 'phase="Succeeded"' in line
    ]
    assert prod and float(prod[0].rsplit(" ", 1)[1]) >= 2, scraped[-2000:]
    assert "tidegate_promotion_duration_seconds_bucket" in scraped
    # The audit log (the controller's default file) records each promotion: who, which
    # Freight, the commits it wrote and how long it took.
    path = Path(platformdirs.user_data_dir("tidegate")) / f"audit-{p.gitops.namespace}.db"
    log = audit.AuditLog(f"sqlite:///{path}")
    try:
        rows = log.query(audit.Filter(action="promote", project=p.project, name="prod"))
    finally:
        log.close()
    assert rows and all(r["result"] == "succeeded" for r in rows)
    assert any(r["actor"].startswith("cli:") and name in r["reason"] for r in rows)
    assert all("commits: " in r["reason"] and "commits: none" not in r["reason"] for r in rows)


def test_refused_requests_write_nothing(pipeline: Pipeline) -> None:
    p = pipeline
    first = p.wait("any Freight", lambda: p.freights() and p.freights()[0])
    fname = first["metadata"]["name"]
    origin = {"kind": "Warehouse", "name": "guestbook"}
    api = "kargo.akuity.io/v1alpha1"
    bad_steps = {
        "qa": [{"uses": "git-clone", "config": {"repoURL": p.repo.http_url, "checkout": []}}],
        "teleport": [{"uses": "git-teleport", "config": {}}],
        "exprs": [{"uses": "git-clone", "config": {"repoURL": "${{ exec('id') }}"}}],
    }
    sources = {
        "qa": {"stages": ["nowhere"]},
        "teleport": {"direct": True},
        "exprs": {"direct": True},
    }
    for stage, step_list in bad_steps.items():
        p.kargo(
            "POST",
            p.ns_path("stages"),
            {
                "apiVersion": api,
                "kind": "Stage",
                "metadata": {"name": stage},
                "spec": {
                    "requestedFreight": [{"origin": origin, "sources": sources[stage]}],
                    "promotionTemplate": {"spec": {"steps": step_list}},
                },
            },
        )
    cases = [
        (
            ("promote", "--stage=qa", f"--freight={fname}"),
            "not verified in upstream Stage(s) nowhere",
        ),
        (
            ("approve", "--stage=qa", f"--freight={fname}"),
            "not verified in any Stage upstream of qa",
        ),
        (
            ("promote", "--stage=teleport", f"--freight={fname}"),
            "uses 'git-teleport', which Tidegate does not know",
        ),
        (("promote", "--stage=exprs", f"--freight={fname}"), "unknown function 'exec'"),
        (("promote", "--stage=nope"), "Stage 'nope' does not exist"),
        (
            ("promote", "--stage=qa", "--freight-alias=no-such-alias"),
            "no Freight with alias 'no-such-alias'",
        ),
    ]
    for args, message in cases:
        result = pipeline_mod.tidegate(p.kubeconfig, *args, f"--project={p.project}")
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    promos = p.kargo("GET", p.ns_path("promotions"))["items"]
    assert not [x for x in promos if x["spec"]["stage"] in ("qa", "teleport", "exprs")]
    assert "qa" not in (p.kargo("GET", p.ns_path("freights", fname)).get("status") or {}).get(
        "approvedFor", {}
    )


class _Gate(http.server.BaseHTTPRequestHandler):
    """Answers POSTs; while ``closed`` is clear, holds each request until it is set."""

    seen = threading.Event()
    opened = threading.Event()

    def do_POST(self) -> None:
        _Gate.seen.set()
        _Gate.opened.wait(timeout=120)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_controller_killed_mid_promotion_resumes_without_a_second_commit(
    pipeline: Pipeline,
) -> None:
    p = pipeline
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/deployed"
    steps = [
        {
            "uses": "git-clone",
            "config": {
                "repoURL": p.repo.http_url,
                "checkout": [{"branch": "main", "path": "./src"}],
            },
        },
        {
            "uses": "kustomize-set-image",
            "as": "update",
            "config": {"path": "./src/overlays/${{ ctx.stage }}", "images": [{"image": p.image}]},
        },
        {
            "uses": "git-commit",
            "as": "commit",
            "config": {"path": "./src", "message": "${{ outputs.update.commitMessage }}"},
        },
        {"uses": "git-push", "config": {"path": "./src", "targetBranch": "main"}},
        {"uses": "http", "config": {"url": url, "method": "POST"}},
    ]
    p.kargo(
        "POST",
        p.ns_path("stages"),
        {
            "apiVersion": "kargo.akuity.io/v1alpha1",
            "kind": "Stage",
            "metadata": {"name": "slow"},
            "spec": {
                "requestedFreight": [
                    {
                        "origin": {"kind": "Warehouse", "name": "guestbook"},
                        "sources": {"direct": True},
                    }
                ],
                "promotionTemplate": {"spec": {"steps": steps}},
            },
        },
    )
    if p.freight_for("1.0.1") is None:
        pipeline_mod.push(p, "1.0.1")
    freight = p.wait("Freight for 1.0.1", lambda: p.freight_for("1.0.1"))
    p.work.git("fetch", "--quiet")
    initial = p.work.git("log", "--format=%H", "origin/main", "--", "overlays/slow").split()
    result = pipeline_mod.tidegate(
        p.kubeconfig,
        "promote",
        f"--project={p.project}",
        "--stage=slow",
        f"--freight={freight['metadata']['name']}",
    )
    assert result.returncode == 0, result.stderr
    assert _Gate.seen.wait(timeout=120), "the promotion never reached its http step"
    p.work.git("fetch", "--quiet")
    pushed = p.work.git("log", "--format=%H", "origin/main", "--", "overlays/slow").split()
    assert len(pushed) == len(initial) + 1, "the push happened once before the kill"
    p.gitops.controller.kill()
    _Gate.opened.set()
    p.gitops.controller.start()
    p.gitops.controller.wait_log("controller ready", timeout=60)
    promo_name = result.stdout.split("/")[1].split()[0]
    done = p.wait(
        "the promotion to finish",
        lambda: (
            (p.kargo("GET", p.ns_path("promotions", promo_name)).get("status") or {}).get("phase")
            in ("Succeeded", "Failed", "Errored")
        ),
        timeout=120,
    )
    promo = p.kargo("GET", p.ns_path("promotions", promo_name))
    assert done and promo["status"]["phase"] == "Succeeded", promo["status"]
    p.work.git("fetch", "--quiet")
    after = p.work.git("log", "--format=%H", "origin/main", "--", "overlays/slow").split()
    assert after == pushed, "the resumed promotion made no second commit"
    assert p.current("slow") == freight["metadata"]["name"]
    server.shutdown()


def test_bad_warehouses_and_failing_steps_say_why(pipeline: Pipeline) -> None:
    p = pipeline
    api = "kargo.akuity.io/v1alpha1"
    dead = f"127.0.0.1:{procs.free_port()}/nothing"
    for name, image in (
        ("down", {"repoURL": dead}),
        ("badsemver", {"repoURL": p.image, "constraint": ">=1.0 <<2"}),
    ):
        p.kargo(
            "POST",
            p.ns_path("warehouses"),
            {
                "apiVersion": api,
                "kind": "Warehouse",
                "metadata": {"name": name},
                "spec": {"subscriptions": [{"image": image}]},
            },
        )

    def condition(name: str) -> str:
        status = p.kargo("GET", p.ns_path("warehouses", name)).get("status") or {}
        ready = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
        return str(ready[0]["message"]) if ready and ready[0]["status"] == "False" else ""

    down = p.wait("the dead registry's condition", lambda: condition("down"))
    assert f"Warehouse {p.project}/down" in down and "127.0.0.1" in down
    bad = p.wait("the bad constraint's condition", lambda: condition("badsemver"))
    assert "constraint '>=1.0 <<2' does not parse" in bad
    # A step that fails leaves the Stage on the Freight it had, with the step's error.
    if p.freight_for("1.0.1") is None:
        pipeline_mod.push(p, "1.0.1")
    freight = p.wait("Freight for 1.0.1", lambda: p.freight_for("1.0.1"))
    missing = p.repo.http_url.replace(p.repo.name, "no-such-repo")
    p.kargo(
        "POST",
        p.ns_path("stages"),
        {
            "apiVersion": api,
            "kind": "Stage",
            "metadata": {"name": "broken"},
            "spec": {
                "requestedFreight": [
                    {
                        "origin": {"kind": "Warehouse", "name": "guestbook"},
                        "sources": {"direct": True},
                    }
                ],
                "promotionTemplate": {
                    "spec": {
                        "steps": [
                            {
                                "uses": "git-clone",
                                "config": {
                                    "repoURL": missing,
                                    "checkout": [{"branch": "main", "path": "./src"}],
                                },
                            }
                        ]
                    }
                },
            },
        },
    )
    result = pipeline_mod.tidegate(
        p.kubeconfig,
        "promote",
        f"--project={p.project}",
        "--stage=broken",
        f"--freight={freight['metadata']['name']}",
    )
    assert result.returncode == 0, result.stderr
    name = result.stdout.split("/")[1].split()[0]

    def ended() -> dict[str, Any] | None:
        promo = p.kargo("GET", p.ns_path("promotions", name))
        return promo if (promo.get("status") or {}).get("phase") in ("Failed", "Errored") else None

    promo = p.wait("the broken promotion to fail", ended)
    assert promo["status"]["phase"] == "Failed"
    assert "step 1 (git-clone) failed" in promo["status"]["message"]
    assert "no-such-repo" in promo["status"]["message"]
    assert p.current("broken") == ""
    git = p.gitops.bed.git
    assert git is not None and git.info.password not in json.dumps(promo)


def test_a_webhook_delivery_refreshes_the_warehouse_at_once(pipeline: Pipeline) -> None:
    p = pipeline

    def receiver_path() -> str:
        config = p.kargo("GET", p.ns_path("projectconfigs", p.project))
        published = (config.get("status") or {}).get("webhookReceivers") or []
        return str(published[0].get("path") or "") if published else ""

    path = p.wait("the receiver's path", receiver_path)
    assert path.startswith("/webhookreceiver/") and WEBHOOK_SECRET not in path
    registry.push_image(p.reg, p.image.split("/", 1)[1], "1.0.7")
    base = f"http://127.0.0.1:{p.gitops.webhook_port}"
    with httpx.Client(timeout=10) as client:
        wrong = client.post(f"{base}/webhookreceiver/{'0' * 64}", json={"repoURL": p.image})
        assert wrong.status_code == 404
        resp = client.post(f"{base}{path}", json={"repoURL": p.image})
        subscribed = [
            w
            for w in p.kargo("GET", p.ns_path("warehouses"))["items"]
            if any(
                (sub.get("image") or {}).get("repoURL") == p.image
                for sub in w["spec"].get("subscriptions") or []
            )
        ]
        assert subscribed
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"refreshed": len(subscribed)}
        other = client.post(f"{base}{path}", json={"repoURL": "example.com/unrelated"})
        assert other.json() == {"refreshed": 0}
    p.wait("Freight for 1.0.7 after the delivery", lambda: p.freight_for("1.0.7"), timeout=30)


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        body = json.dumps({"status": "yes"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_verification_by_analysis_gates_the_freight(pipeline: Pipeline) -> None:
    p = pipeline
    scenario.apply_manifests(p.gitops.bed, "mgmt", analysis_crds.crds())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    for name, wanted in (("web-ok", "yes"), ("web-bad", "no")):
        p.kargo_like(
            "argoproj.io/v1alpha1",
            "analysistemplates",
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "AnalysisTemplate",
                "metadata": {"name": name},
                "spec": {
                    "metrics": [
                        {
                            "name": "status",
                            "count": 1,
                            "successCondition": f"result == '{wanted}'",
                            "provider": {"web": {"url": url, "jsonPath": "{$.status}"}},
                        }
                    ]
                },
            },
        )
    for stage, template in (
        ("checked", "web-ok"),
        ("refused", "web-bad"),
        ("untemplated", "no-such-template"),
    ):
        p.kargo(
            "POST",
            p.ns_path("stages"),
            {
                "apiVersion": "kargo.akuity.io/v1alpha1",
                "kind": "Stage",
                "metadata": {"name": stage},
                "spec": {
                    "requestedFreight": [
                        {
                            "origin": {"kind": "Warehouse", "name": "guestbook"},
                            "sources": {"direct": True},
                        }
                    ],
                    "promotionTemplate": {
                        "spec": {
                            "steps": [{"uses": "http", "config": {"url": url, "method": "POST"}}]
                        }
                    },
                    "verification": {"analysisTemplates": [{"name": template}]},
                },
            },
        )
    if p.freight_for("1.0.1") is None:
        pipeline_mod.push(p, "1.0.1")
    freight = p.wait("Freight for 1.0.1", lambda: p.freight_for("1.0.1"))
    fname = freight["metadata"]["name"]
    for stage in ("checked", "refused", "untemplated"):
        result = pipeline_mod.tidegate(
            p.kubeconfig,
            "promote",
            f"--project={p.project}",
            f"--stage={stage}",
            f"--freight={fname}",
        )
        assert result.returncode == 0, result.stderr

    def verification(stage: str) -> dict[str, Any] | None:
        history = (p.stage(stage).get("status") or {}).get("freightHistory") or []
        entries = history[0].get("verificationHistory") or [] if history else []
        done = ("Successful", "Failed", "Error", "Errored", "Inconclusive")
        return entries[0] if entries and entries[0].get("phase") in done else None

    ok = p.wait("checked's verification", lambda: verification("checked"), timeout=120)
    assert ok["phase"] == "Successful" and ok["analysisRun"]["name"].startswith("checked.")
    verified = p.kargo("GET", p.ns_path("freights", fname))["status"]["verifiedIn"]
    assert "checked" in verified
    bad = p.wait("refused's verification", lambda: verification("refused"), timeout=120)
    assert bad["phase"] == "Failed"
    assert "refused" not in p.kargo("GET", p.ns_path("freights", fname))["status"]["verifiedIn"]
    assert p.stage("refused")["status"]["health"]["status"] == "Unhealthy"
    missing = p.wait("untemplated's verification", lambda: verification("untemplated"))
    assert missing["phase"] == "Errored"
    assert "AnalysisTemplate 'no-such-template'" in missing["message"]
    server.shutdown()
