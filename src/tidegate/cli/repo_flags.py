"""argocd's repository flags that ``repo add`` and ``repocreds add`` share beyond the basic
credentials: a bearer token (Bitbucket Data Center), a GitHub App, the clone depth, and the
webhook cache-warming switch; stored in the Secret under argocd's field names
(``bearerToken``, ``githubAppID``, ``githubAppInstallationID``, ``githubAppPrivateKey``,
``githubAppEnterpriseBaseUrl``, ``depth``, ``webhookManifestCacheWarmDisabled``).

What Tidegate does not act on yet is said on stderr when given (:func:`notices`), never
silently ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from tidegate.controller import repos

BEARER_TOKEN: Any = typer.Option(
    "", "--bearer-token", help="Bearer token for HTTPS (Bitbucket Data Center); never shown."
)
DEPTH: Any = typer.Option(0, "--depth", help="Clone depth argocd uses (0: full); stored.")
GITHUB_APP_ID: Any = typer.Option("", "--github-app-id", help="GitHub App id.")
GITHUB_APP_INSTALLATION_ID: Any = typer.Option(
    "", "--github-app-installation-id", help="GitHub App installation id."
)
GITHUB_APP_PRIVATE_KEY_PATH: Path | None = typer.Option(
    None, "--github-app-private-key-path", help="File with the GitHub App's private key (PEM)."
)
GITHUB_APP_ENTERPRISE_BASE_URL: Any = typer.Option(
    "",
    "--github-app-enterprise-base-url",
    help="GitHub Enterprise API base URL (e.g. https://ghe.example.com/api/v3).",
)
WEBHOOK_MANIFEST_CACHE_WARM_DISABLED: Any = typer.Option(
    False,
    "--webhook-manifest-cache-warm-disabled",
    help="argocd's switch against pre-rendering on webhooks; stored (Tidegate never pre-renders).",
)


def notices(spec: repos.RepoSpec) -> list[str]:
    """What is stored for argocd but not used by Tidegate's fetches yet."""
    said = []
    if spec.github_app_id:
        said.append(
            f"repository {spec.url}: the GitHub App credentials are stored as argocd stores them,"
            " but tidegate does not exchange them for installation tokens yet: its fetches of"
            " this URL use no credentials from this Secret, and access is not tested"
        )
    if spec.depth:
        said.append(
            f"repository {spec.url}: depth {spec.depth} is stored as argocd stores it; tidegate"
            " fetches full history (its repository cache serves every revision)"
        )
    return said


def spec_fields(
    *,
    bearer_token: str,
    github_app_id: str,
    github_app_installation_id: str,
    github_app_private_key_path: Path | None,
    github_app_enterprise_base_url: str,
) -> dict[str, Any]:
    """The ``RepoSpec`` fields of the shared flags (the key file read)."""
    from tidegate.cli import repo_cmd

    return {
        "bearer_token": bearer_token,
        "github_app_id": github_app_id,
        "github_app_installation_id": github_app_installation_id,
        "github_app_private_key": repo_cmd.read_file(
            github_app_private_key_path, "--github-app-private-key-path"
        ),
        "github_app_enterprise_base_url": github_app_enterprise_base_url,
    }
