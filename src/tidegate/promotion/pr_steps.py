"""The ``git-open-pr`` and ``git-wait-for-pr`` promotion steps (I/O: the forge's HTTP API).

``git-open-pr`` (``repoURL``, ``provider``, ``sourceBranch``, ``targetBranch`` (default
``main``), ``title``, ``description``, ``labels``) opens a pull request from the branch a
``git-push`` wrote (usually ``${{ outputs.push.branch }}``) and outputs ``pr{id, url}``. It is
idempotent, as a resumed promotion needs: an open pull request from the same branch into the
same target is taken instead of opening a second one.

``git-wait-for-pr`` (``repoURL``, ``provider``, ``prNumber``, ``pollInterval`` (``30s``, at
least ``10s``; tests may lower it through the context), ``timeout`` (``24h``)) reads the pull
request until it is merged (outputs ``commit``: the merge commit, and ``pr{id, url, open,
merged}``) and fails when it was closed without being merged, or at the timeout.

Credentials are the project's git credentials for the repository (a GitHub App's: its
installation token, exchanged and cached as for git); they go in a header only and never into a
message. Requests are built by the pure :mod:`tidegate.promotion.forge`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import httpx

from tidegate.model import durations, errors
from tidegate.promotion import forge, steps
from tidegate.sources import githubapp

TIMEOUT = 20.0


async def _send(
    http: httpx.AsyncClient, repo: forge.Repo, call: forge.Call, headers: Mapping[str, str]
) -> Any:
    try:
        resp = await http.request(
            call.method, call.url, json=call.json, params=dict(call.params), headers=dict(headers)
        )
    except httpx.HTTPError as exc:
        raise forge.ForgeError(f"{repo.provider} at {repo.host} cannot be reached: {exc}") from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400:
        raise forge.ForgeError(forge.error_message(repo, resp.status_code, body))
    return body


async def _session(
    ctx: steps.StepContext, config: Mapping[str, Any], step: str
) -> tuple[forge.Repo, dict[str, str]]:
    url = str(config.get("repoURL") or "")
    if not url:
        raise steps.StepError(f"{step}: repoURL is required")
    try:
        repo = forge.parse_repo(url, str(config.get("provider") or ""))
    except forge.ForgeError as exc:
        raise steps.StepError(f"{step}: {exc}") from None
    creds = await ctx.creds(url)
    if creds is not None and githubapp.uses_app(creds):
        # A GitHub App: its installation token (the one git's fetches and pushes use, from
        # the same cache) is the API's bearer token.
        try:
            token = await ctx.git.tokens.token(creds, what=f"{step} on {url}")
        except errors.TidegateError as exc:
            raise steps.StepError(str(exc)) from None
        return repo, forge.auth_header(repo.provider, "", token)
    user, password = (creds.username, creds.password) if creds else ("", "")
    return repo, forge.auth_header(repo.provider, user, password)


def _client(ctx: steps.StepContext) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT, transport=ctx.http_transport)


async def git_open_pr(ctx: steps.StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    repo, headers = await _session(ctx, config, "git-open-pr")
    source = str(config.get("sourceBranch") or "")
    target = str(config.get("targetBranch") or "main")
    if not source:
        raise steps.StepError("git-open-pr: sourceBranch is required")
    title = str(config.get("title") or f"Promote to {ctx.stage} ({ctx.promotion})")
    labels = [str(label) for label in config.get("labels") or ()]
    where = f"git-open-pr: {source} -> {target} of {repo.owner}/{repo.name}"
    try:
        async with _client(ctx) as http:
            listed = await _send(http, repo, forge.find_open(repo, source, target), headers)
            pr = forge.matching(repo, listed, source, target)
            if pr is None:
                ids: list[int] = []
                if repo.provider == "gitea" and labels:
                    found = await _send(http, repo, forge.list_labels(repo), headers)
                    ids = forge.label_ids(repo, found, labels)
                call = forge.create(
                    repo,
                    source=source,
                    target=target,
                    title=title,
                    description=str(config.get("description") or ""),
                    label_ids=ids,
                )
                pr = forge.parse_pr(repo, await _send(http, repo, call, headers))
                if repo.provider == "github" and labels:
                    await _send(http, repo, forge.add_labels(repo, pr.id, labels), headers)
    except forge.ForgeError as exc:
        raise steps.StepError(f"{where}: {exc}") from None
    return {"pr": {"id": pr.id, "url": pr.url}, "prNumber": pr.id}


def _seconds(value: object, default: float, what: str) -> float:
    if value in (None, ""):
        return default
    try:
        return durations.parse(str(value))
    except errors.SpecError as exc:
        raise steps.StepError(f"git-wait-for-pr: {what}: {exc}") from None


async def git_wait_for_pr(ctx: steps.StepContext, config: Mapping[str, Any]) -> dict[str, Any]:
    repo, headers = await _session(ctx, config, "git-wait-for-pr")
    try:
        number = int(str(config.get("prNumber")))
    except ValueError:
        raise steps.StepError(
            f"git-wait-for-pr: prNumber {config.get('prNumber')!r} is not a number"
        ) from None
    poll = max(_seconds(config.get("pollInterval"), 30.0, "pollInterval"), ctx.min_poll_seconds)
    limit = _seconds(config.get("timeout"), 24 * 3600.0, "timeout")
    deadline = time.monotonic() + limit
    where = f"git-wait-for-pr: pull request #{number} of {repo.owner}/{repo.name}"
    async with _client(ctx) as http:
        while True:
            try:
                pr = forge.parse_pr(repo, await _send(http, repo, forge.get(repo, number), headers))
            except forge.ForgeError as exc:
                raise steps.StepError(f"{where}: {exc}") from None
            if pr.merged:
                return {"commit": pr.merge_commit, "pr": pr.outputs()}
            if not pr.open:
                raise steps.StepError(f"{where} was closed without being merged ({pr.url})")
            if time.monotonic() + poll > deadline:
                raise steps.StepError(f"{where} was not merged within {limit:g}s ({pr.url})")
            await asyncio.sleep(poll)
