"""argocd's repository flags that ``repo add`` and ``repocreds add`` share beyond the basic
credentials: a bearer token (Bitbucket Data Center), a GitHub App, the clone depth, and the
webhook cache-warming switch; stored in the Secret under argocd's field names
(``bearerToken``, ``githubAppID``, ``githubAppInstallationID``, ``githubAppPrivateKey``,
``githubAppEnterpriseBaseUrl``, ``depth``, ``webhookManifestCacheWarmDisabled``).

Fetches use them (``sources.githubapp`` exchanges the GitHub App for installation tokens; the
repository cache fetches ``depth`` commits per ref); the cache-warming switch has nothing to
switch off, as its help says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

BEARER_TOKEN: Any = typer.Option(
    "", "--bearer-token", help="Bearer token for HTTPS (Bitbucket Data Center); never shown."
)
DEPTH: Any = typer.Option(
    0,
    "--depth",
    help="Fetch only the last N commits of each branch and tag (0: full history); an older"
    " commit is fetched when named by its full id.",
)
GITHUB_APP_ID: Any = typer.Option(
    "",
    "--github-app-id",
    help="GitHub App id: fetches use an installation token the app's key is exchanged for.",
)
GITHUB_APP_INSTALLATION_ID: Any = typer.Option(
    "", "--github-app-installation-id", help="GitHub App installation id."
)
GITHUB_APP_PRIVATE_KEY_PATH: Path | None = typer.Option(
    None, "--github-app-private-key-path", help="File with the GitHub App's private key (PEM)."
)
GITHUB_APP_ENTERPRISE_BASE_URL: Any = typer.Option(
    "",
    "--github-app-enterprise-base-url",
    help="GitHub Enterprise API base URL for the token exchange (default"
    " https://api.github.com; e.g. https://ghe.example.com/api/v3).",
)
WEBHOOK_MANIFEST_CACHE_WARM_DISABLED: Any = typer.Option(
    False,
    "--webhook-manifest-cache-warm-disabled",
    help="argocd's switch against pre-rendering on webhooks; stored (Tidegate never pre-renders).",
)


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
