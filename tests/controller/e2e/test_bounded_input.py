"""Tenant input is bounded with the real controller: a flood of webhook deliveries costs one or
two fetches, and a jq expression that never ends stalls neither other apps nor the webhooks."""

from __future__ import annotations

import asyncio
import json
import re

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
