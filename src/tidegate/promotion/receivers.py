"""Webhook receivers of a project (``ProjectConfig.spec.webhookReceivers``): pure parts.

Each receiver is one of ``github``, ``gitlab``, ``dockerhub`` or ``generic``, with
``secretRef.name`` naming a Secret of the project whose ``secret`` key holds the shared
secret. Its URL path is ``/webhookreceiver/<sha256 of project, name and secret>``: unguessable
without the secret, and new when the secret changes. A delivery names repositories (a pushed
Git repository, a pushed image); the Warehouses of the project subscribed to one of them are
refreshed at once. GitHub deliveries must carry a valid ``X-Hub-Signature-256``, GitLab ones
the ``X-Gitlab-Token``; Docker Hub signs nothing, so its path is the secret; a generic delivery
may name ``repoURL``/``repoURLs`` in a JSON body, else every Warehouse of the project refreshes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.model import errors
from tidegate.promotion import freight as freight_mod

PATH_PREFIX = "/webhookreceiver/"
PROVIDERS = ("github", "gitlab", "dockerhub", "generic")


class ReceiverError(errors.TidegateError):
    """A delivery refused; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Receiver:
    project: str
    name: str
    provider: str
    secret: str = field(default="", repr=False)

    @property
    def path(self) -> str:
        return receiver_path(self.project, self.name, self.secret)


def receiver_path(project: str, name: str, secret: str) -> str:
    digest = hashlib.sha256(f"{project}\0{name}\0{secret}".encode()).hexdigest()
    return PATH_PREFIX + digest


def declared(config: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(name, provider, secret Secret name)`` of each receiver of a ProjectConfig."""
    out = []
    for entry in (config.get("spec") or {}).get("webhookReceivers") or ():
        name = str(entry.get("name") or "")
        provider = next((p for p in PROVIDERS if p in entry), "")
        ref = ((entry.get(provider) or {}).get("secretRef") or {}).get("name", "")
        out.append((name, provider, str(ref)))
    return out


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else {}
    except ValueError:
        raise ReceiverError("the body is not JSON", 400) from None


def repositories(receiver: Receiver, headers: Mapping[str, str], body: bytes) -> list[str] | None:
    """The repositories a delivery names (None: every Warehouse); raises on a bad signature."""
    lower = {k.lower(): v for k, v in headers.items()}
    if receiver.provider == "github":
        signature = lower.get("x-hub-signature-256", "")
        expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise ReceiverError("missing or wrong X-Hub-Signature-256", 401)
        doc = _json(body)
        repo = doc.get("repository") or {}
        urls = [str(repo.get(k)) for k in ("clone_url", "html_url", "ssh_url") if repo.get(k)]
        package = doc.get("package") or doc.get("registry_package") or {}
        if package.get("name") and (package.get("namespace") or package.get("owner")):
            owner = package.get("namespace") or (package.get("owner") or {}).get("login")
            urls.append(f"ghcr.io/{owner}/{package['name']}".lower())
        return urls
    if receiver.provider == "gitlab":
        if not hmac.compare_digest(lower.get("x-gitlab-token", ""), receiver.secret):
            raise ReceiverError("missing or wrong X-Gitlab-Token", 401)
        project = _json(body).get("project") or {}
        return [
            str(project[k]) for k in ("git_http_url", "web_url", "git_ssh_url") if project.get(k)
        ]
    doc = _json(body)
    if receiver.provider == "dockerhub":
        repo = str((doc.get("repository") or {}).get("repo_name") or "")
        return [repo, f"docker.io/{repo}"] if repo else []
    named = doc.get("repoURLs") or ([doc["repoURL"]] if doc.get("repoURL") else None)
    return [str(u) for u in named] if named else None


def _image_key(url: str) -> str:
    text = url.lower().removeprefix("oci://").removeprefix("docker.io/")
    return text.removeprefix("index.docker.io/").removeprefix("library/")


def subscribed(warehouse: Mapping[str, Any], repos: Sequence[str] | None) -> bool:
    if repos is None:
        return True
    git_urls = {freight_mod.normalize_git_url(r) for r in repos}
    images = {_image_key(r) for r in repos}
    for sub in (warehouse.get("spec") or {}).get("subscriptions") or ():
        for kind, spec in sub.items():
            url = str((spec or {}).get("repoURL") or "")
            if kind == "git" and freight_mod.normalize_git_url(url) in git_urls:
                return True
            if kind in ("image", "chart") and _image_key(url) in images:
                return True
    return False
