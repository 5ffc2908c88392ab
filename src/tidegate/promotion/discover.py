"""Listing what a Warehouse's subscriptions can see: registry tags, git refs, chart versions (I/O).

Registries on a loopback address are spoken to over plain HTTP (the test bed's, a developer's
local registry), every other one over HTTPS. Credentials come from the caller (the project's
Secrets labelled ``kargo.akuity.io/cred-type``); they travel in headers only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tidegate.model import errors
from tidegate.promotion import discovery
from tidegate.promotion import freight as freight_mod
from tidegate.sources import charts as charts_mod
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd, oci

TIMEOUT = 20.0


def _loopback(host: str) -> bool:
    name = (
        host.rsplit(":", 1)[0].strip("[]") if host.count(":") <= 1 or host.startswith("[") else host
    )
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def image_reference(repo_url: str) -> oci.Reference:
    """``registry/repository`` (or ``oci://``/``docker.io`` forms) to a reference."""
    text = repo_url.removeprefix("oci://").removeprefix("docker://")
    host, _, repository = text.partition("/")
    if not repository or ("." not in host and ":" not in host and host != "localhost"):
        host, repository = "registry-1.docker.io", text if "/" in text else f"library/{text}"
    return oci.Reference(host, repository, plain_http=_loopback(host))


async def image_artifacts(
    policy: discovery.ImagePolicy, creds: creds_mod.RepoCredentials | None
) -> list[freight_mod.Image]:
    """The selected tags of an image subscription with their digests, best first."""
    ref = image_reference(policy.repo_url)
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        client = oci.Client(
            http, username=creds.username if creds else "", password=creds.password if creds else ""
        )
        try:
            tags = await client.tags(ref)
            created: dict[str, str] = {}
            chosen = discovery.select_tags(policy, tags, created)
            out = []
            for tag in chosen[:1]:
                manifest = await client.manifest(ref, tag)
                out.append(freight_mod.Image(policy.repo_url, tag, manifest.digest))
            return out
        except httpx.HTTPError as exc:
            raise errors.SourceError(
                f"image registry {ref.registry} for {policy.repo_url}: {type(exc).__name__}"
            ) from None


async def git_artifacts(
    policy: discovery.GitPolicy,
    git: gitcmd.GitRunner,
    creds: creds_mod.RepoCredentials | None,
) -> list[freight_mod.Commit]:
    """The newest commit of the branch, or the best tag, of a git subscription."""
    what = f"git subscription {policy.repo_url}"
    if policy.strategy == "NewestFromBranch":
        branch = policy.branch or "HEAD"
        ref = branch if branch == "HEAD" else f"refs/heads/{branch}"
        out = await git.run(
            ["ls-remote", policy.repo_url, ref], url=policy.repo_url, creds=creds, what=what
        )
        line = out.stdout.split()
        if not line:
            raise errors.SourceError(f"{what}: branch {branch!r} does not exist")
        return [freight_mod.Commit(policy.repo_url, line[0], branch=policy.branch)]
    out = await git.run(
        ["ls-remote", "--tags", policy.repo_url], url=policy.repo_url, creds=creds, what=what
    )
    by_tag: dict[str, str] = {}
    for row in out.stdout.splitlines():
        sha, _, ref = row.partition("\t")
        tag = ref.removeprefix("refs/tags/")
        if tag.endswith("^{}"):
            by_tag[tag[:-3]] = sha  # the commit an annotated tag points at
        else:
            by_tag.setdefault(tag, sha)
    chosen = discovery.select_git_tags(policy, list(by_tag))
    return [freight_mod.Commit(policy.repo_url, by_tag[t], tag=t) for t in chosen[:1]]


async def chart_artifacts(
    policy: discovery.ChartPolicy,
    cache: charts_mod.ChartCache,
    creds: creds_mod.RepoCredentials | None,
) -> list[freight_mod.Chart]:
    if policy.repo_url.startswith("oci://"):
        ref = image_reference(
            policy.repo_url.removeprefix("oci://") + (f"/{policy.name}" if policy.name else "")
        )
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            client = oci.Client(
                http,
                username=creds.username if creds else "",
                password=creds.password if creds else "",
            )
            versions = await client.tags(ref)
    else:
        index = await cache.index(policy.repo_url, creds, max_age=0)
        versions = index.versions(policy.name)
    chosen = discovery.select_versions(policy, versions)
    return [freight_mod.Chart(policy.repo_url, policy.name, v) for v in chosen[:1]]


def subscriptions(warehouse: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return list((warehouse.get("spec") or {}).get("subscriptions") or [])
