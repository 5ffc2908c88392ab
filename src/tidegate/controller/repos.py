"""Repository registrations: Argo CD ``repository`` and ``repo-creds`` Secrets.

Reading and writing the Secrets is pure. :func:`check_access` does I/O: a real ``git ls-remote``
through :mod:`tidegate.sources` (credentials through the environment, errors scrubbed of secrets).
Nothing here returns a credential for display: :class:`Repository` only says *which kind* of
credentials a registration carries.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets
from tidegate.model.keys import ResourceKey
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd, urls

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client

_TRUE = ("true", "yes", "1")
# Field name -> how ``repo list -o wide`` names the credential kind.
_CREDENTIAL_KINDS = (
    ("password", "password"),
    ("bearerToken", "token"),
    ("sshPrivateKey", "ssh-key"),
    ("tlsClientCertKey", "tls-client-cert"),
    ("githubAppPrivateKey", "github-app"),
)
# Secret fields never shown or compared in plain text.
SECRET_FIELDS = frozenset(
    {
        "password",
        "bearerToken",
        "sshPrivateKey",
        "tlsClientCertKey",
        "githubAppPrivateKey",
        "gcpServiceAccountKey",
    }
)


@dataclasses.dataclass(frozen=True)
class Repository:
    """One registration, as it may be shown: no secret values, only their kinds."""

    url: str
    secret_type: str  # constants.SECRET_TYPE_REPOSITORY or SECRET_TYPE_REPO_CREDS
    secret_name: str
    type: str = "git"
    name: str = ""
    project: str = ""
    username: str = ""
    credentials: tuple[str, ...] = ()  # e.g. ("password",), ("ssh-key",)
    insecure: bool = False
    enable_lfs: bool = False
    force_basic_auth: bool = False
    enable_oci: bool = False
    error: str = ""

    @property
    def is_template(self) -> bool:
        return self.secret_type == constants.SECRET_TYPE_REPO_CREDS


def _secret_type(secret: Mapping[str, Any]) -> str:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return str(labels.get(constants.LABEL_SECRET_TYPE) or "")


def repository_from_secret(secret: Mapping[str, Any]) -> Repository:
    meta = secret.get("metadata") or {}
    name = str(meta.get("name") or "?")
    fields = model_secrets.fields(secret, strict=False)

    def flag(key: str) -> bool:
        return fields.get(key, "").strip().lower() in _TRUE

    url = fields.get("url", "").strip()
    return Repository(
        url=urls.display(url) if url else "",
        secret_type=_secret_type(secret),
        secret_name=name,
        type=fields.get("type", "").strip() or "git",
        name=fields.get("name", "").strip(),
        project=fields.get("project", "").strip(),
        username=fields.get("username", ""),
        credentials=tuple(kind for key, kind in _CREDENTIAL_KINDS if fields.get(key)),
        insecure=flag("insecure") or flag("insecureIgnoreHostKey"),
        enable_lfs=flag("enableLfs"),
        force_basic_auth=flag("forceHttpBasicAuth"),
        enable_oci=flag("enableOCI") or fields.get("type", "").strip() == "oci",
        error="" if url else f"repository Secret {meta.get('namespace')}/{name}: no 'url' field",
    )


def repositories(
    secrets: Iterable[Mapping[str, Any]], *, secret_type: str = constants.SECRET_TYPE_REPOSITORY
) -> list[Repository]:
    """Registrations of one kind (repositories, or ``repo-creds`` templates), sorted by URL."""
    found = [repository_from_secret(s) for s in secrets if _secret_type(s) == secret_type]
    return sorted(found, key=lambda r: (urls.normalise(r.url), r.secret_name))


def find(
    secrets: Iterable[Mapping[str, Any]],
    url: str,
    *,
    secret_type: str = constants.SECRET_TYPE_REPOSITORY,
) -> Mapping[str, Any] | None:
    """The ``repository`` (or ``secret_type``) Secret registering ``url`` (compared as Argo CD
    does), if any."""
    wanted = urls.normalise(url)
    for secret in secrets:
        if _secret_type(secret) != secret_type:
            continue
        if urls.normalise(model_secrets.fields(secret, strict=False).get("url", "")) == wanted:
            return secret
    return None


def secret_name_for(url: str) -> str:
    """The Secret name ``tidegate repo add`` uses: ``repo-<hash of the normalised URL>``."""
    return "repo-" + hashlib.sha256(urls.normalise(url).encode()).hexdigest()[:12]


@dataclasses.dataclass(frozen=True, repr=False)
class RepoSpec:
    """What ``repo add`` registers. ``repr`` never shows secret values."""

    url: str
    type: str = "git"
    name: str = ""
    project: str = ""
    username: str = ""
    password: str = ""
    ssh_private_key: str = ""
    tls_client_cert: str = ""
    tls_client_key: str = ""
    insecure: bool = False
    insecure_ignore_host_key: bool = False
    enable_lfs: bool = False
    force_basic_auth: bool = False
    enable_oci: bool = False
    insecure_oci_force_http: bool = False
    bearer_token: str = ""
    depth: int = 0
    github_app_id: str = ""
    github_app_installation_id: str = ""
    github_app_private_key: str = ""
    github_app_enterprise_base_url: str = ""
    webhook_manifest_cache_warm_disabled: bool = False

    def __repr__(self) -> str:
        return f"RepoSpec(url={urls.display(self.url)!r}, type={self.type!r})"

    @classmethod
    def parse(cls, url: str, **kwargs: Any) -> RepoSpec:
        """A spec for ``url``; credentials in the URL's userinfo move to username/password."""
        clean, user, password = urls.split_userinfo(url)
        if user and not kwargs.get("username"):
            kwargs["username"] = user
        if password and not kwargs.get("password"):
            kwargs["password"] = password
        spec = cls(url=clean, **kwargs)
        if spec.type not in ("git", "helm", "oci"):
            raise errors.ConfigError(f"repository {spec.url}: unknown type {spec.type!r}")
        if bool(spec.tls_client_cert) != bool(spec.tls_client_key):
            raise errors.ConfigError(
                f"repository {spec.url}: a TLS client certificate needs its key and vice versa"
            )
        if spec.password and not spec.username:
            raise errors.ConfigError(f"repository {spec.url}: a password needs a username")
        spec._check_token_and_app()
        if spec.depth < 0:
            raise errors.ConfigError(f"repository {spec.url}: --depth must be 0 (full) or more")
        return spec

    def _check_token_and_app(self) -> None:
        """argocd's rules: a bearer token (Bitbucket Data Center) or a GitHub App stands alone,
        over HTTPS; a GitHub App needs its id, installation id and private key together."""
        where = f"repository {self.url}"
        app = (self.github_app_id, self.github_app_installation_id, self.github_app_private_key)
        if self.bearer_token and (self.username or self.password):
            raise errors.ConfigError(f"{where}: --bearer-token replaces --username/--password")
        if (self.bearer_token or any(app)) and not self.url.startswith("https://"):
            raise errors.ConfigError(
                f"{where}: bearer tokens and GitHub App credentials are for https:// URLs"
            )
        if any(app) and not all(app):
            raise errors.ConfigError(
                f"{where}: a GitHub App needs --github-app-id, --github-app-installation-id and"
                " --github-app-private-key-path"
            )
        if any(app) and (self.bearer_token or self.username or self.password):
            raise errors.ConfigError(
                f"{where}: GitHub App credentials replace --username/--password/--bearer-token"
            )
        if self.github_app_enterprise_base_url and not all(app):
            raise errors.ConfigError(
                f"{where}: --github-app-enterprise-base-url needs the GitHub App flags"
            )

    def fields(self) -> dict[str, str]:
        out = {"url": self.url, "type": self.type}
        for key, value in (
            ("name", self.name),
            ("project", self.project),
            ("username", self.username),
            ("password", self.password),
            ("sshPrivateKey", self.ssh_private_key),
            ("tlsClientCertData", self.tls_client_cert),
            ("tlsClientCertKey", self.tls_client_key),
            ("bearerToken", self.bearer_token),
            ("githubAppID", self.github_app_id),
            ("githubAppInstallationID", self.github_app_installation_id),
            ("githubAppPrivateKey", self.github_app_private_key),
            ("githubAppEnterpriseBaseUrl", self.github_app_enterprise_base_url),
        ):
            if value:
                out[key] = value
        if self.depth:
            out["depth"] = str(self.depth)
        if self.webhook_manifest_cache_warm_disabled:
            out["webhookManifestCacheWarmDisabled"] = "true"
        # Over SSH, Argo CD's ``insecure`` skips the host key check; the older field is kept too.
        if self.insecure or self.insecure_ignore_host_key:
            out["insecure"] = "true"
        if self.insecure_ignore_host_key:
            out["insecureIgnoreHostKey"] = "true"
        if self.enable_lfs:
            out["enableLfs"] = "true"
        if self.force_basic_auth:
            out["forceHttpBasicAuth"] = "true"
        if self.enable_oci:
            out["enableOCI"] = "true"
        if self.insecure_oci_force_http:
            out["insecureOCIForceHttp"] = "true"
        return out

    def credentials(self, *, known_hosts: str = "", ca_data: str = "") -> creds_mod.RepoCredentials:
        return creds_mod.RepoCredentials(
            username=self.username,
            password=self.password,
            bearer_token=self.bearer_token,
            ssh_private_key=self.ssh_private_key,
            tls_client_cert=self.tls_client_cert,
            tls_client_key=self.tls_client_key,
            ca_data=ca_data,
            known_hosts=known_hosts if urls.is_ssh(self.url) else "",
            insecure=self.insecure or self.insecure_ignore_host_key,
            force_basic_auth=self.force_basic_auth,
            enable_oci=self.enable_oci or self.type == "oci",
            oci_plain_http=self.insecure_oci_force_http,
            github_app_id=self.github_app_id,
            github_app_installation_id=self.github_app_installation_id,
            github_app_private_key=self.github_app_private_key,
            github_app_enterprise_base_url=self.github_app_enterprise_base_url,
            depth=self.depth,
            source="repo add",
        )


def repository_secret(
    spec: RepoSpec,
    *,
    namespace: str,
    secret_name: str | None = None,
    secret_type: str = constants.SECRET_TYPE_REPOSITORY,
) -> dict[str, Any]:
    """A ``repository`` (or ``repo-creds`` template) Secret as Argo CD documents it (values
    base64 in ``data``); templates are named ``creds-<hash of the URL prefix>``."""
    if secret_name is None:
        secret_name = secret_name_for(spec.url)
        if secret_type == constants.SECRET_TYPE_REPO_CREDS:
            secret_name = "creds-" + secret_name.removeprefix("repo-")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": secret_name,
            "namespace": namespace,
            "labels": {constants.LABEL_SECRET_TYPE: secret_type},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in spec.fields().items()},
    }


def same_registration(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether two repository Secrets hold the same fields (compared, never shown)."""
    return json.dumps(model_secrets.fields(current, strict=False), sort_keys=True) == json.dumps(
        model_secrets.fields(wanted, strict=False), sort_keys=True
    )


async def trust(client: kube_client.KubeClient, namespace: str) -> tuple[dict[str, str], str]:
    """Trusted TLS certificates (by host name) and SSH known hosts from Argo CD's ConfigMaps."""

    def key(name: str) -> ResourceKey:
        return ResourceKey("", "ConfigMap", namespace, name)

    certs = await client.get_or_none(key(constants.CONFIGMAP_TLS_CERTS), version="v1")
    hosts = await client.get_or_none(key(constants.CONFIGMAP_SSH_KNOWN_HOSTS), version="v1")
    tls = {str(k): str(v) for k, v in ((certs or {}).get("data") or {}).items()}
    return tls, str(((hosts or {}).get("data") or {}).get("ssh_known_hosts") or "")


async def check_access(
    url: str,
    creds: creds_mod.RepoCredentials | None,
    *,
    state_dir: Path,
    git_timeout: float = 30.0,
) -> None:
    """``git ls-remote URL HEAD`` with ``creds``: returns when the server answers, else raises
    AuthenticationError, RepoUnreachableError, RepoNotFoundError or SourceError (scrubbed)."""
    runner = gitcmd.GitRunner(state_dir=state_dir, timeout=git_timeout)
    await runner.run(
        ["ls-remote", "--quiet", url, "HEAD"],
        url=url,
        creds=creds,
        what=f"repository {urls.display(url)}",
    )


async def check_chart_access(
    url: str, creds: creds_mod.RepoCredentials | None, *, time_limit: float = 30.0
) -> None:
    """A Helm repository answers with a readable ``index.yaml``, or an OCI registry accepts
    the credentials (``GET /v2/``); raises AuthenticationError, RepoUnreachableError,
    RepoNotFoundError or SourceError (never showing a secret)."""
    from tidegate.sources import charts

    cache = charts.ChartCache(
        Path("/nonexistent"), limits=charts.ChartLimits(timeout_seconds=time_limit)
    )
    if url.startswith("oci://") or (creds is not None and creds.enable_oci):
        await cache.check_registry(url, creds)
    else:
        await cache.index(url, creds, max_age=0.0)
