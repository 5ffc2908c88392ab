"""Promotion through a pull request on a real forge (Gitea, testenv/gitea.py): the promotion
clones the Gitea repository, edits a values file, commits, pushes a branch of its own, opens a
pull request and waits; the test merges it through Gitea's API as a reviewer would, and the
promotion succeeds with the merge commit as what the next step sees. A pull request closed
unmerged fails the promotion; a token the forge refuses fails it with the forge and the status,
never the token."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.testenv import gitea as giteaforge
from tidegate.testenv import gitrepos, kargoproject, scenario
from tidegate.testenv.kargoproject import until

pytestmark = pytest.mark.e2e
SHARD = "forge-" + secrets.token_hex(3)
APP_RESYNC = 180


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return [f"--promotions-shard={SHARD}"]


@dataclass
class Review:
    project: kargoproject.KargoProject
    forge: giteaforge.Gitea
    repo: giteaforge.GiteaRepo
    work: gitrepos.WorkingCopy
    denied: giteaforge.GiteaRepo
    bad_token: str
    freight: str = ""

    def open_pull(self, source: str = "") -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            pulls = self.forge.pulls(self.repo, "open")
            return next((p for p in pulls if not source or p["head"]["ref"] == source), None)

        return until(found)


def _stage(steps: list[dict[str, Any]]) -> dict[str, Any]:
    origin = {"kind": "Warehouse", "name": "config"}
    return {
        "requestedFreight": [{"origin": origin, "sources": {"direct": True}}],
        "promotionTemplate": {"spec": {"steps": steps}},
    }


def _review_steps(url: str) -> list[dict[str, Any]]:
    return [
        {
            "uses": "git-clone",
            "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./src"}]},
        },
        {
            "uses": "yaml-update",
            "as": "update",
            "config": {
                "path": "./src/env/values.yaml",
                "updates": [{"key": "image.tag", "value": "${{ ctx.targetFreight.alias }}"}],
            },
        },
        {
            "uses": "git-commit",
            "config": {"path": "./src", "message": "${{ outputs.update.commitMessage }}"},
        },
        {
            "uses": "git-push",
            "as": "push",
            "config": {"path": "./src", "generateTargetBranch": True},
        },
        {
            "uses": "git-open-pr",
            "as": "open-pr",
            "config": {
                "repoURL": url,
                "provider": "gitea",
                "sourceBranch": "${{ outputs.push.branch }}",
                "targetBranch": "main",
                "title": "Promote ${{ ctx.targetFreight.alias }} to ${{ ctx.stage }}",
                "labels": ["promotion"],
            },
        },
        {
            "uses": "git-wait-for-pr",
            "as": "wait",
            "config": {
                "repoURL": url,
                "provider": "gitea",
                "prNumber": "${{ outputs['open-pr'].pr.id }}",
                "pollInterval": "10s",
            },
        },
        # The next step sees the merge commit.
        {
            "uses": "git-clone",
            "as": "merged",
            "config": {
                "repoURL": url,
                "checkout": [{"commit": "${{ outputs.wait.commit }}", "path": "./merged"}],
            },
        },
    ]


def _pr_only_steps(url: str, source: str) -> list[dict[str, Any]]:
    return [
        {
            "uses": "git-open-pr",
            "as": "open-pr",
            "config": {"repoURL": url, "provider": "gitea", "sourceBranch": source},
        },
        {
            "uses": "git-wait-for-pr",
            "config": {
                "repoURL": url,
                "provider": "gitea",
                "prNumber": "${{ outputs['open-pr'].pr.id }}",
                "pollInterval": "10s",
            },
        },
    ]


@pytest.fixture(scope="module")
def review(gitops: scenario.GitOps, gitea: giteaforge.Gitea) -> Iterator[Review]:
    suffix = secrets.token_hex(3)
    repo = gitea.create_repo(f"config-{suffix}")
    denied = gitea.create_repo(f"denied-{suffix}")
    labels = f"/repos/{repo.owner}/{repo.name}/labels"
    gitea.call("POST", labels, {"name": "promotion", "color": "#00aabb"})
    work = gitea.working_copy(repo, gitops.workdir / f"gitea-{suffix}")
    work.commit({"env/values.yaml": "image:\n  # set by the promotion\n  tag: none\n"}, "values")
    for branch, wc in (
        ("closing", work),
        ("feature", gitea.working_copy(denied, gitops.workdir / f"denied-{suffix}")),
    ):
        wc.branch(branch)
        wc.commit({f"{branch}.txt": branch}, f"a change on {branch}")
        wc.switch("main")
    project = kargoproject.KargoProject(gitops, shard=SHARD)
    bad_token = "bad-" + secrets.token_hex(20)
    project.git_creds("gitea", repo.http_url, gitea.username, gitea.token)
    project.git_creds("gitea-denied", denied.http_url, gitea.username, bad_token)
    project.create(
        "Warehouse",
        "config",
        {
            "interval": "1h",
            "subscriptions": [{"git": {"repoURL": repo.http_url, "branch": "main"}}],
        },
    )
    project.create("Stage", "review", _stage(_review_steps(repo.http_url)))
    project.create("Stage", "closed", _stage(_pr_only_steps(repo.http_url, "closing")))
    project.create("Stage", "denied", _stage(_pr_only_steps(denied.http_url, "feature")))
    freight = until(lambda: next(iter(project.freights()), None))
    yield Review(project, gitea, repo, work, denied, bad_token, freight["metadata"]["name"])
    project.delete()


def test_a_merged_pull_request_completes_the_promotion_with_its_merge_commit(
    review: Review,
) -> None:
    r, project = review, review.project
    code, err = project.promote("review", r.freight)
    assert code == 0, err
    pull = r.open_pull()
    assert pull["head"]["ref"].startswith("kargo/promotion/") and pull["base"]["ref"] == "main"
    assert [label["name"] for label in pull["labels"]] == ["promotion"]
    assert pull["title"].endswith(" to review")
    # Waiting for the review: the promotion runs as long as the pull request is open.
    assert project.promotions("review")[-1]["status"]["phase"] == "Running"
    r.forge.merge(r.repo, pull["number"])
    status = project.ended("review", r.freight)["status"]
    assert status["phase"] == "Succeeded", status
    merged = r.forge.pull(r.repo, pull["number"])
    assert merged["merged"] and merged["merge_commit_sha"]
    main = r.forge.call("GET", f"/repos/{r.repo.owner}/{r.repo.name}/branches/main")
    assert main["commit"]["id"] == merged["merge_commit_sha"]
    state = status["state"]
    assert state["open-pr"]["pr"]["id"] == pull["number"]
    assert state["wait"]["commit"] == merged["merge_commit_sha"]
    assert state["wait"]["pr"]["merged"] is True and state["wait"]["pr"]["open"] is False
    assert state["merged"]["commits"]["./merged"] == merged["merge_commit_sha"]
    until(lambda: project.current("review") == r.freight)  # written just after the phase
    r.work.git("pull", "--quiet")
    values = yaml.safe_load((r.work.path / "env/values.yaml").read_text())
    alias = project.kargo("GET", "freights", r.freight)["alias"]
    assert values["image"]["tag"] == alias


def test_a_pull_request_closed_unmerged_fails_the_promotion(review: Review) -> None:
    r, project = review, review.project
    code, err = project.promote("closed", r.freight)
    assert code == 0, err
    pull = r.open_pull("closing")
    r.forge.close(r.repo, pull["number"])
    status = project.ended("closed", r.freight)["status"]
    assert status["phase"] == "Failed", status
    assert f"pull request #{pull['number']} of {r.repo.owner}/{r.repo.name}" in status["message"]
    assert "was closed without being merged" in status["message"]
    assert project.current("closed") == ""


def test_a_refused_token_names_the_forge_and_status_never_the_token(review: Review) -> None:
    r, project = review, review.project
    code, err = project.promote("denied", r.freight)
    assert code == 0, err
    promo = project.ended("denied", r.freight)
    status = promo["status"]
    assert status["phase"] == "Failed", status
    assert "git-open-pr: feature -> main of" in status["message"]
    assert "gitea answered 401" in status["message"], status["message"]
    assert r.bad_token not in str(promo)
    assert r.bad_token not in project.gitops.controller.log.read_text()
    assert r.forge.pulls(r.denied) == []
