"""Tenant input is bounded with the real controller: a flood of webhook deliveries costs one or
two fetches, and a jq expression that never ends stalls neither other apps nor the webhooks."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

from tidegate.testenv import scenario
from tidegate.testenv.wait import eventually

pytestmark = pytest.mark.e2e

APP_RESYNC = 600  # no Git poll during the tests: every fetch is the webhooks' doing

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  tag: "{tag}"
"""


def _fetches(gitops: scenario.GitOps, repo_url: str) -> int:
    shown = re.escape(repo_url)
    text = gitops.controller.log.read_text(errors="replace")
    return len(re.findall(rf"fetched repository {shown} \(fetch \d+\)", text))


def _log_count(gitops: scenario.GitOps, text: str) -> int:
    return gitops.controller.log.read_text(errors="replace").count(text)


def _push_payload(repo_url: str, sha: str) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "repository": {
                "html_url": repo_url.removesuffix(".git"),
                "clone_url": repo_url,
                "default_branch": "main",
            },
            "commits": [{"id": sha, "added": [], "removed": [], "modified": ["app/cm.yaml"]}],
        }
    ).encode()


async def test_a_thousand_deliveries_cost_one_or_two_fetches(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(tag="one")})
    gitops.create_app(
        scenario.application(
            "flooded",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=f"flood-{gitops.namespace}",
        )
    )
    gitops.wait_app("flooded", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    sha = work.commit({"app/cm.yaml": CONFIGMAP.format(tag="two")}, "bump")
    before = _fetches(gitops, repo.http_url)
    assert before >= 1, "the controller logs its fetches"
    payload = _push_payload(repo.http_url, sha)
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    url = f"http://127.0.0.1:{gitops.webhook_port}/api/webhook"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        replies = await asyncio.gather(
            *(client.post(url, content=payload, headers=headers) for _ in range(1000))
        )
    assert {r.status_code for r in replies} == {200}
    assert {r.json()["refreshed"] for r in replies} == {1}

    gitops.wait_app(
        "flooded", lambda a: scenario.synced_healthy(a, sha), timeout=60, what="sync to the push"
    )
    # Every refresh the flood started has ended (no waiting one is left behind)...
    await eventually(
        lambda: (
            _log_count(gitops, "webhook refresh of")
            == 2 * _log_count(gitops, f"webhook refresh of {repo.http_url} done")
        ),
        within=30,
    )
    started = _log_count(gitops, f"webhook refresh of {repo.http_url} started")
    fetched = _fetches(gitops, repo.http_url) - before
    print(f"\n1000 deliveries -> {started} webhook refresh(es), {fetched} fetch(es)")
    # ...and the thousand deliveries cost one running and at most one waiting refresh.
    assert 1 <= started <= 2
    assert 1 <= fetched <= 2


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def test_a_never_ending_jq_expression_is_a_condition_and_stalls_no_other_app(
    gitops: scenario.GitOps,
) -> None:
    server = gitops.bed.clusters["dev"].server
    # argocd-cm sets the timeout (re-read by the controller every 10 s).
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": gitops.namespace},
                "data": {"ignore.normalizer.jq.timeout": "500ms"},
            }
        ],
    )
    stuck_repo, _ = gitops.repo({"app/cm.yaml": CONFIGMAP.format(tag="stuck")})
    ns_stuck = f"jq-stuck-{gitops.namespace}"
    stuck = scenario.application(
        "jq-stuck", repo_url=stuck_repo.http_url, path="app", server=server, namespace=ns_stuck
    )
    stuck["spec"]["ignoreDifferences"] = [
        {"kind": "ConfigMap", "jqPathExpressions": [".data.tag", "def f: f; f"]}
    ]
    gitops.create_app(stuck)
    fine_repo, fine_work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(tag="fine")})
    fine = scenario.application(
        "jq-fine",
        repo_url=fine_repo.http_url,
        path="app",
        server=server,
        namespace=f"jq-fine-{gitops.namespace}",
    )
    fine["spec"]["ignoreDifferences"] = [{"kind": "ConfigMap", "jqPathExpressions": [".data.x"]}]
    gitops.create_app(fine)

    app = gitops.wait_app(
        "jq-stuck",
        lambda a: "within the timeout of 0.5s" in _condition(a, "ComparisonError"),
        timeout=90,
        what="the jq timeout condition",
    )
    message = _condition(app, "ComparisonError")
    assert "jq expression 'def f: f; f' on ConfigMap" in message, message
    assert "settings" in message and "ignore.normalizer.jq.timeout" in message, message
    # The other app on the same controller syncs meanwhile, and the webhook server answers.
    gitops.wait_app("jq-fine", lambda a: scenario.synced_healthy(a, fine_work.head()), timeout=60)
    health = httpx.get(f"http://127.0.0.1:{gitops.webhook_port}/healthz", timeout=10)
    assert health.status_code == 200
    # Nothing was synced on the strength of a half-normalised comparison.
    app = gitops.get_app("jq-stuck")
    assert "operationState" not in (app.get("status") or {})
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns_stuck, "get", "configmap", "settings",
                           check=False)  # fmt: skip
    assert "NotFound" in out, out


def test_a_sync_respecting_a_never_ending_jq_expression_errs_and_applies_nothing(
    gitops: scenario.GitOps,
) -> None:
    server = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(tag="v1")})
    ns = f"jq-respect-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "jq-respect",
            repo_url=repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            automated=False,
        )
    )
    gitops.patch_app("jq-respect", {"operation": {"sync": {"revision": "main"}}})
    gitops.wait_app("jq-respect", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    work.commit({"app/cm.yaml": CONFIGMAP.format(tag="v2")}, "change the tag")
    gitops.patch_app(
        "jq-respect",
        {
            "spec": {
                "ignoreDifferences": [{"kind": "ConfigMap", "jqPathExpressions": ["def f: f; f"]}]
            },
            "operation": {
                "sync": {"revision": "main", "syncOptions": ["RespectIgnoreDifferences=true"]},
                "initiatedBy": {"username": "e2e"},
            },
        },
    )
    app = gitops.wait_app(
        "jq-respect",
        lambda a: ((a.get("status") or {}).get("operationState") or {}).get("phase") == "Error",
        timeout=60,
        what="the sync to end in Error",
    )
    message = app["status"]["operationState"]["message"]
    assert message.startswith("RespectIgnoreDifferences: ignoreDifferences: jq expression"), message
    assert "'def f: f; f'" in message and "ConfigMap" in message, message
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", "settings",
                           "-o", "jsonpath={.data.tag}")  # fmt: skip
    assert out.strip() == "v1"  # nothing of the new revision was applied
