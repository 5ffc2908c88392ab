"""Repositories' connection states: the access test ``tidegate repo list|get`` shows and the API
server's RepositoryService replies carry (``connectionState``), one implementation for both.

A git repository is tested with ``git ls-remote`` (:func:`repos.check_access`), a Helm
repository by reading its ``index.yaml``, an OCI registry with ``GET /v2/``
(:func:`repos.check_chart_access`), each with the credentials that apply to it (its own, else
a ``repo-creds`` template), the trusted certificates and the known hosts. A registration that
cannot be read is ``Failed`` with its error, untested; messages are the scrubbed errors.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate.controller import repos
from tidegate.model import errors
from tidegate.sources import credentials as creds_mod

TEST_SECONDS = 30.0
CONCURRENCY = 8
Trust = tuple[dict[str, str], str]  # trusted TLS certificates by host, SSH known hosts
SPEC_FIELDS: dict[str, str] = {  # Argo CD's Repository JSON field -> RepoSpec field
    "repo": "url",
    "type": "type",
    "name": "name",
    "project": "project",
    "username": "username",
    "password": "password",
    "sshPrivateKey": "ssh_private_key",
    "tlsClientCertData": "tls_client_cert",
    "tlsClientCertKey": "tls_client_key",
    "insecure": "insecure",
    "insecureIgnoreHostKey": "insecure_ignore_host_key",
    "enableLfs": "enable_lfs",
    "forceHttpBasicAuth": "force_basic_auth",
    "enableOCI": "enable_oci",
    "insecureOCIForceHttp": "insecure_oci_force_http",
    "bearerToken": "bearer_token",
    "depth": "depth",
    "githubAppID": "github_app_id",
    "githubAppInstallationID": "github_app_installation_id",
    "githubAppPrivateKey": "github_app_private_key",
    "githubAppEnterpriseBaseUrl": "github_app_enterprise_base_url",
    "webhookManifestCacheWarmDisabled": "webhook_manifest_cache_warm_disabled",
}


def spec_body(spec: repos.RepoSpec, *, url_field: str = "repo") -> dict[str, Any]:
    """The Repository (or RepoCreds, ``url_field="url"``) JSON body registering ``spec``, the
    fields it sets only (what ``tidegate repo add`` sends to the API server)."""
    body: dict[str, Any] = {}
    for key, attr in SPEC_FIELDS.items():
        value = getattr(spec, attr)
        if value not in ("", 0, False) or key in ("repo", "type"):
            body[url_field if key == "repo" else key] = value
    return body


def credentials(
    url: str, secrets: Sequence[Mapping[str, Any]], *, project: str, trust: Trust
) -> creds_mod.RepoCredentials | None:
    """The git credentials ``url`` gets from ``secrets`` (repository, then template)."""
    return creds_mod.credentials_for(
        url, secrets, project=project or None, tls_certs=trust[0], known_hosts=trust[1]
    )


async def _state(
    repo: repos.Repository,
    secrets: Sequence[Mapping[str, Any]],
    trust: Trust,
    limit: asyncio.Semaphore,
    state_dir: Path,
) -> tuple[str, str]:
    if repo.error:
        return "Failed", repo.error
    async with limit:
        try:
            if repo.type != "git":
                chart_creds = creds_mod.credentials_for(
                    repo.url,
                    secrets,
                    project=repo.project or None,
                    tls_certs=trust[0],
                    repo_type="helm",
                )
                await repos.check_chart_access(repo.url, chart_creds, time_limit=TEST_SECONDS)
            else:
                creds = credentials(repo.url, secrets, project=repo.project, trust=trust)
                await repos.check_access(
                    repo.url, creds, state_dir=state_dir, git_timeout=TEST_SECONDS
                )
        except errors.TidegateError as exc:
            return "Failed", str(exc)
    return "Successful", ""


async def connection_states(
    found: Sequence[repos.Repository],
    secrets: Sequence[Mapping[str, Any]],
    trust: Trust,
) -> list[tuple[str, str]]:
    """(status, message) of each of ``found``, tested concurrently (at most
    :data:`CONCURRENCY` at once), in the order given."""
    limit = asyncio.Semaphore(CONCURRENCY)
    with tempfile.TemporaryDirectory(prefix="tidegate-repo-") as state:
        return list(
            await asyncio.gather(*(_state(r, secrets, trust, limit, Path(state)) for r in found))
        )


def untested(found: Sequence[repos.Repository]) -> list[tuple[str, str]]:
    """The states without a test: ``Failed`` for an unreadable registration, else ``Unknown``."""
    return [("Failed", r.error) if r.error else ("Unknown", "") for r in found]


def repository_json(repo: repos.Repository, state: tuple[str, str] | None = None) -> dict[str, Any]:
    """Argo CD's Repository message for a registration: no password, key or token, only which
    kinds exist; ``connectionState`` from ``state`` (else untested); ``secretName`` (Tidegate's
    addition: the Secret to edit with kubectl)."""
    status, message = state if state is not None else untested([repo])[0]
    out: dict[str, Any] = {
        "repo": repo.url,
        "type": repo.type,
        "name": repo.name,
        "insecure": repo.insecure,
        "enableLfs": repo.enable_lfs,
        "forceHttpBasicAuth": repo.force_basic_auth,
        "inheritedCreds": False,
        "credentials": list(repo.credentials),
        "connectionState": {"status": status, "message": message},
        "secretName": repo.secret_name,
    }
    if repo.enable_oci:
        out["enableOCI"] = True
    if repo.project:
        out["project"] = repo.project
    if repo.username:
        out["username"] = repo.username
    return out


def repo_creds_json(repo: repos.Repository) -> dict[str, Any]:
    """Argo CD's RepoCreds message: the URL prefix and settings, never a secret value."""
    out = repository_json(repo)
    out["url"] = out.pop("repo")
    for key in ("name", "inheritedCreds", "connectionState"):
        out.pop(key, None)
    return out
