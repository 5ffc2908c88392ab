"""git-open-pr and git-wait-for-pr against Kargo's documented behaviour: the forge requests
(pure) and the steps' logic over an in-memory Gitea/GitHub answering as their APIs document
(no forge runs on the test bed: see docs/promotion.md)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from tidegate.kube import client as kube_client
from tidegate.promotion import forge, pr_steps, steps
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd, githubapp
from tidegate.testenv import githubapi

TOKEN = "tok-" + "9" * 12


@pytest.mark.parametrize(
    ("url", "provider", "api", "owner"),
    [
        ("https://github.com/acme/shop.git", "", "https://api.github.com/repos/acme/shop", "acme"),
        ("git@github.com:acme/shop.git", "", "https://api.github.com/repos/acme/shop", "acme"),
        (
            "https://ghe.corp/acme/shop",
            "github",
            "https://ghe.corp/api/v3/repos/acme/shop",
            "acme",
        ),
        (
            "http://127.0.0.1:3000/team/shop.git",
            "gitea",
            "http://127.0.0.1:3000/api/v1/repos/team/shop",
            "team",
        ),
        (
            "ssh://git@gitea.corp:2222/team/shop.git",
            "gitea",
            "https://gitea.corp/api/v1/repos/team/shop",
            "team",
        ),
    ],
)
def test_repository_urls_name_the_forge_api(url: str, provider: str, api: str, owner: str) -> None:
    repo = forge.parse_repo(url, provider)
    assert repo.path == api and repo.owner == owner and repo.name == "shop"


@pytest.mark.parametrize(
    ("url", "provider", "message"),
    [
        ("https://gitea.corp/team/shop", "", "set provider"),
        ("https://gitlab.com/team/shop", "gitlab", "not supported yet"),
        ("https://gitea.corp/shop", "gitea", "does not name an owner"),
        ("file:///srv/shop", "gitea", r"not an http\(s\) or ssh URL"),
        ("https://x/a/b", "bitbucketz", "unknown provider"),
    ],
)
def test_bad_repositories_say_why(url: str, provider: str, message: str) -> None:
    with pytest.raises(forge.ForgeError, match=message):
        forge.parse_repo(url, provider)


def test_auth_headers_per_forge() -> None:
    assert forge.auth_header("github", "bot", TOKEN) == {"Authorization": f"Bearer {TOKEN}"}
    assert forge.auth_header("gitea", "", TOKEN) == {"Authorization": f"token {TOKEN}"}
    assert forge.auth_header("gitea", "bot", TOKEN)["Authorization"].startswith("Basic ")
    assert forge.auth_header("gitea", "bot", "") == {}


class FakeForge:
    """Pull requests held in memory, answered in the forge's JSON (Gitea's or GitHub's)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.prs: dict[int, dict[str, Any]] = {}
        self.labels = [{"id": 7, "name": "promotion"}]
        self.seen: list[httpx.Request] = []
        self.polled_open = 0
        self.read_twice = asyncio.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.headers.get("authorization") not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
            return httpx.Response(401, json={"message": "token is required"})
        path = request.url.path.split("/repos/team/shop")[-1]
        if request.method == "GET" and path == "/pulls":
            # Gitea filters by base_branch (and ignores base), GitHub by base.
            base = request.url.params.get("base_branch" if self.provider == "gitea" else "base")
            open_ = [
                p for p in self.prs.values() if p["state"] == "open" and p["base"]["ref"] == base
            ]
            return httpx.Response(200, json=open_)
        if request.method == "GET" and path == "/labels":
            return httpx.Response(200, json=self.labels)
        if request.method == "POST" and path == "/pulls":
            body = json.loads(request.content)
            if body["head"] == "gone":
                return httpx.Response(422, json={"message": "head branch does not exist"})
            number = len(self.prs) + 1
            self.prs[number] = {
                "number": number,
                "html_url": f"http://forge/team/shop/pulls/{number}",
                "state": "open",
                "merged": False,
                "merge_commit_sha": None,
                "head": {"ref": body["head"]},
                "base": {"ref": body["base"]},
                "title": body["title"],
                "labels": body.get("labels", []),
            }
            return httpx.Response(201, json=self.prs[number])
        if request.method == "POST" and path.endswith("/labels"):
            return httpx.Response(200, json=[])
        if request.method == "GET" and path.startswith("/pulls/"):
            number = int(path.rsplit("/", 1)[1])
            pr = self.prs.get(number)
            if pr is None:
                return httpx.Response(404, json={"message": "not found"})
            if pr["state"] == "open":
                self.polled_open += 1
                if self.polled_open >= 2:
                    self.read_twice.set()
            return httpx.Response(200, json=pr)
        return httpx.Response(404, json={"message": f"no route {request.method} {path}"})


def _ctx(tmp_path: Path, fake: FakeForge) -> steps.StepContext:
    async def creds(url: str) -> creds_mod.RepoCredentials | None:
        return creds_mod.RepoCredentials("", TOKEN, source="test")

    return steps.StepContext(
        project="shop",
        stage="prod",
        promotion="prod.1",
        workdir=tmp_path,
        git=gitcmd.GitRunner(state_dir=tmp_path / "git-state"),
        creds=creds,
        kube=cast(kube_client.KubeClient, None),  # the PR steps never read the cluster
        freights=[],
        http_transport=httpx.MockTransport(fake.handle),
        min_poll_seconds=0.01,
    )


URL = "http://127.0.0.1:3000/team/shop.git"


def test_open_pr_opens_once_and_labels_by_id(tmp_path: Path) -> None:
    fake = FakeForge("gitea")
    ctx = _ctx(tmp_path, fake)
    config = {
        "repoURL": URL,
        "provider": "gitea",
        "sourceBranch": "kargo/promotion/prod.1",
        "targetBranch": "main",
        "title": "Promote prod",
        "labels": ["promotion"],
    }
    first = asyncio.run(pr_steps.git_open_pr(ctx, config))
    assert first["pr"] == {"id": 1, "url": "http://forge/team/shop/pulls/1"}
    assert fake.prs[1]["labels"] == [7] and fake.prs[1]["title"] == "Promote prod"
    again = asyncio.run(pr_steps.git_open_pr(ctx, config))  # a resumed promotion
    assert again["pr"]["id"] == 1 and len(fake.prs) == 1
    assert all(TOKEN not in str(r.url) for r in fake.seen)


def test_open_pr_errors_name_the_branches_not_the_token(tmp_path: Path) -> None:
    fake = FakeForge("gitea")
    ctx = _ctx(tmp_path, fake)
    base = {"repoURL": URL, "provider": "gitea", "targetBranch": "main"}
    with pytest.raises(steps.StepError, match="head branch does not exist") as caught:
        asyncio.run(pr_steps.git_open_pr(ctx, {**base, "sourceBranch": "gone"}))
    assert "gone -> main" in str(caught.value) and TOKEN not in str(caught.value)
    with pytest.raises(steps.StepError, match="no label 'nope'"):
        asyncio.run(pr_steps.git_open_pr(ctx, {**base, "sourceBranch": "b", "labels": ["nope"]}))
    with pytest.raises(steps.StepError, match="sourceBranch is required"):
        asyncio.run(pr_steps.git_open_pr(ctx, base))


def test_wait_for_pr_outputs_the_merge_commit(tmp_path: Path) -> None:
    fake = FakeForge("github")
    ctx = _ctx(tmp_path, fake)
    config = {"repoURL": "https://github.com/team/shop", "sourceBranch": "b", "labels": ["x"]}
    opened = asyncio.run(pr_steps.git_open_pr(ctx, config))
    number = opened["pr"]["id"]
    assert any(r.url.path.endswith(f"/issues/{number}/labels") for r in fake.seen)

    async def merge_later() -> dict[str, Any]:
        fake.read_twice = asyncio.Event()  # of this loop
        wait = {"repoURL": "https://github.com/team/shop", "prNumber": str(number)}
        waiting = asyncio.create_task(pr_steps.git_wait_for_pr(ctx, {**wait, "pollInterval": "0s"}))
        await fake.read_twice.wait()  # the step has read the open PR twice and waits on
        assert not waiting.done()
        fake.prs[number].update(state="closed", merged=True, merge_commit_sha="abc123")
        return await waiting

    out = asyncio.run(merge_later())
    assert out["commit"] == "abc123"
    assert out["pr"] == {
        "id": number,
        "url": f"http://forge/team/shop/pulls/{number}",
        "open": False,
        "merged": True,
    }


def test_wait_for_pr_fails_when_closed_unmerged_or_missing(tmp_path: Path) -> None:
    fake = FakeForge("gitea")
    ctx = _ctx(tmp_path, fake)
    asyncio.run(
        pr_steps.git_open_pr(ctx, {"repoURL": URL, "provider": "gitea", "sourceBranch": "b"})
    )
    fake.prs[1]["state"] = "closed"
    wait = {"repoURL": URL, "provider": "gitea", "prNumber": 1}
    with pytest.raises(steps.StepError, match="closed without being merged"):
        asyncio.run(pr_steps.git_wait_for_pr(ctx, wait))
    with pytest.raises(steps.StepError, match="answered 404: not found"):
        asyncio.run(pr_steps.git_wait_for_pr(ctx, {**wait, "prNumber": 9}))
    with pytest.raises(steps.StepError, match="is not a number"):
        asyncio.run(pr_steps.git_wait_for_pr(ctx, {**wait, "prNumber": "x"}))
    fake.prs[1]["state"] = "open"
    with pytest.raises(steps.StepError, match="not merged within"):
        asyncio.run(pr_steps.git_wait_for_pr(ctx, {**wait, "timeout": "0s"}))


def _app_ctx(
    tmp_path: Path, fake: FakeForge, exchange: httpx.MockTransport, private_key: str
) -> steps.StepContext:
    """The project's credentials for the repository are a GitHub App's."""

    async def creds(url: str) -> creds_mod.RepoCredentials | None:
        return creds_mod.RepoCredentials(
            source="test",
            github_app_id="4242",
            github_app_installation_id="77",
            github_app_private_key=private_key,
        )

    ctx = _ctx(tmp_path, fake)
    ctx.creds = creds
    ctx.git = gitcmd.GitRunner(
        state_dir=tmp_path / "git-state", tokens=githubapp.TokenCache(transport=exchange)
    )
    return ctx


GITHUB_URL = "https://github.com/team/shop.git"
PR = {"repoURL": GITHUB_URL, "provider": "github", "sourceBranch": "b", "title": "Promote"}


def test_a_github_app_opens_the_pr_with_its_installation_token(tmp_path: Path) -> None:
    exchanges: list[httpx.Request] = []

    def github_tokens(request: httpx.Request) -> httpx.Response:
        exchanges.append(request)
        return httpx.Response(201, json={"token": TOKEN, "expires_at": "2999-01-01T00:00:00Z"})

    fake = FakeForge("github")
    private, _ = githubapi.app_key_pair()
    ctx = _app_ctx(tmp_path, fake, httpx.MockTransport(github_tokens), private)
    opened = asyncio.run(pr_steps.git_open_pr(ctx, PR))
    assert opened["pr"]["id"] == 1
    assert [r.url.path for r in exchanges] == ["/app/installations/77/access_tokens"]
    assert {r.headers["authorization"] for r in fake.seen} == {f"Bearer {TOKEN}"}


def test_a_refused_github_app_exchange_fails_the_step_naming_it(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "A JSON web token could not be decoded"})

    fake = FakeForge("github")
    private, _ = githubapi.app_key_pair()
    ctx = _app_ctx(tmp_path, fake, httpx.MockTransport(refuse), private)
    with pytest.raises(steps.StepError, match=r"GitHub App token exchange .* refused: HTTP 401"):
        asyncio.run(pr_steps.git_open_pr(ctx, PR))
    assert fake.seen == []  # nothing was sent to the forge without credentials
