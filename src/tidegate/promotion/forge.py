"""Pull requests on a Git forge, as plain data (pure): which forge and repository a URL names,
the requests that open, find and read a pull request, and what their answers mean.

Kargo's ``git-open-pr`` and ``git-wait-for-pr`` speak to the forge of the repository
(``provider``: ``github``, ``gitea``; inferred for github.com). Requests are built here as
:class:`Call` values and sent by :mod:`tidegate.promotion.pr_steps`, so what is asked of the forge
is testable without one. GitHub: ``https://api.github.com`` for github.com, ``https://HOST/api/v3``
for GitHub Enterprise; Gitea (and Forgejo): ``SCHEME://HOST/api/v1``. Authentication: the
project's git credentials for the repository (``password`` is a token: ``Bearer`` for GitHub,
``token`` for Gitea, or HTTP basic when a username goes with it).
"""

from __future__ import annotations

import base64
import dataclasses
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

from tidegate.model import errors

PROVIDERS = ("github", "gitea")
NOT_SUPPORTED = ("azure", "bitbucket", "gitlab")


class ForgeError(errors.TidegateError):
    """A forge request that cannot be made or whose answer says it failed."""


@dataclasses.dataclass(frozen=True)
class Repo:
    provider: str
    scheme: str
    host: str  # with the port, if any
    owner: str
    name: str

    @property
    def api(self) -> str:
        if self.provider == "github":
            if self.host == "github.com":
                return "https://api.github.com"
            return f"{self.scheme}://{self.host}/api/v3"
        return f"{self.scheme}://{self.host}/api/v1"

    @property
    def path(self) -> str:
        owner, name = (urllib.parse.quote(p, safe="") for p in (self.owner, self.name))
        return f"{self.api}/repos/{owner}/{name}"


@dataclasses.dataclass(frozen=True)
class Call:
    """One HTTP request to the forge."""

    method: str
    url: str
    json: Any = None
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class PullRequest:
    id: int
    url: str
    open: bool
    merged: bool
    merge_commit: str

    def outputs(self) -> dict[str, Any]:
        """Kargo's ``pr`` output."""
        return {"id": self.id, "url": self.url, "open": self.open, "merged": self.merged}


_SCP = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")


def parse_repo(repo_url: str, provider: str = "") -> Repo:
    """The forge and repository of ``repo_url`` (https, http, ssh:// or scp-like ``git@h:o/r``)."""
    url = repo_url.strip()
    scp = _SCP.match(url)
    if scp:
        scheme, host, path = "https", scp.group(1), scp.group(2)
    else:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https", "ssh") or not parts.hostname:
            raise ForgeError(f"repository URL {repo_url!r} is not an http(s) or ssh URL")
        # The API of an ssh remote is on the host's HTTPS port, not on its ssh port.
        scheme = "https" if parts.scheme == "ssh" else parts.scheme
        port = f":{parts.port}" if parts.port and parts.scheme != "ssh" else ""
        host, path = f"{parts.hostname}{port}", parts.path
    segments = [s for s in path.strip("/").removesuffix(".git").split("/") if s]
    if len(segments) < 2:
        raise ForgeError(f"repository URL {repo_url!r} does not name an owner and a repository")
    chosen = provider.strip().lower() or ("github" if host == "github.com" else "")
    if chosen in NOT_SUPPORTED:
        raise ForgeError(f"provider {chosen!r} is not supported yet (supported: github, gitea)")
    if chosen not in PROVIDERS:
        raise ForgeError(
            f"cannot tell the forge of {repo_url!r}: set provider (github or gitea)"
            if not chosen
            else f"unknown provider {chosen!r} (supported: github, gitea)"
        )
    return Repo(chosen, scheme, host, "/".join(segments[:-1]), segments[-1])


def auth_header(provider: str, username: str, password: str) -> dict[str, str]:
    if not password:
        return {}
    if username and provider == "gitea":
        pair = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {pair}"}
    scheme = "Bearer" if provider == "github" else "token"
    return {"Authorization": f"{scheme} {password}"}


def find_open(repo: Repo, source: str, target: str) -> Call:
    """The open pull requests (a page of them) that could be the one from ``source``. GitHub
    filters by ``head`` and ``base``; Gitea has no head filter, and names its base filter
    ``base_branch`` (it ignores ``base``), so a page of its largest size is asked for."""
    if repo.provider == "github":
        head = f"{repo.owner.split('/')[0]}:{source}"
        params = {"state": "open", "base": target, "head": head, "per_page": "100"}
    else:
        params = {"state": "open", "base_branch": target, "limit": "50"}
    return Call("GET", f"{repo.path}/pulls", params=params)


def matching(repo: Repo, listed: Any, source: str, target: str) -> PullRequest | None:
    """The open pull request from ``source`` into ``target`` in a list answer, if any."""
    if not isinstance(listed, list):
        raise ForgeError(f"{repo.provider}: the pull request list is not a list")
    for item in listed:
        head, base = item.get("head") or {}, item.get("base") or {}
        if head.get("ref") == source and base.get("ref") == target:
            return parse_pr(repo, item)
    return None


def create(
    repo: Repo, *, source: str, target: str, title: str, description: str, label_ids: list[int]
) -> Call:
    body: dict[str, Any] = {"head": source, "base": target, "title": title, "body": description}
    if repo.provider == "gitea" and label_ids:
        body["labels"] = label_ids
    return Call("POST", f"{repo.path}/pulls", json=body)


def list_labels(repo: Repo) -> Call:
    return Call("GET", f"{repo.path}/labels", params={"limit": "100"})


def label_ids(repo: Repo, listed: Any, wanted: list[str]) -> list[int]:
    """Gitea takes label ids: each of ``wanted`` must exist in the repository."""
    by_name = {
        str(i.get("name")): int(i["id"])
        for i in listed or ()
        if isinstance(i, dict) and isinstance(i.get("id"), int)
    }
    missing = ", ".join(repr(w) for w in wanted if w not in by_name)
    if missing:
        raise ForgeError(f"gitea: no label {missing} in {repo.owner}/{repo.name}")
    return [by_name[w] for w in wanted]


def add_labels(repo: Repo, number: int, labels: list[str]) -> Call:
    """GitHub adds labels through the pull request's issue."""
    return Call("POST", f"{repo.path}/issues/{number}/labels", json={"labels": labels})


def get(repo: Repo, number: int) -> Call:
    return Call("GET", f"{repo.path}/pulls/{number}")


def parse_pr(repo: Repo, body: Any) -> PullRequest:
    if not isinstance(body, dict) or not isinstance(body.get("number"), int):
        raise ForgeError(f"{repo.provider}: the answer is not a pull request")
    merged = bool(body.get("merged") or body.get("merged_at"))
    return PullRequest(
        id=int(body["number"]),
        url=str(body.get("html_url") or body.get("url") or ""),
        open=body.get("state") == "open",
        merged=merged,
        merge_commit=str(body.get("merge_commit_sha") or "") if merged else "",
    )


def error_message(repo: Repo, status: int, body: Any) -> str:
    """What a refused request says (the forge's ``message``), never the request's headers."""
    said = body.get("message") if isinstance(body, dict) else ""
    return f"{repo.provider} answered {status}: {str(said or '')[:300] or 'no message'}"
