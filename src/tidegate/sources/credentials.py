"""Repository credentials from Argo CD-style Secrets. Pure: no I/O.

Two kinds of Secret carry them, told apart by the label ``argocd.argoproj.io/secret-type``:

- ``repository``: credentials for one repository, whose ``url`` equals the repo URL;
- ``repo-creds``: a credential template for every repository whose URL starts with its ``url``
  (the longest matching prefix wins).

A repository Secret without credentials of its own borrows them from the matching template, as
Argo CD documents. Custom CA certificates (``argocd-tls-certs-cm``, keyed by host name) and SSH
known hosts (``argocd-ssh-known-hosts-cm``) are passed in by the caller.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets
from tidegate.sources import urls

# Fields whose presence means "this Secret carries credentials of its own".
_CREDENTIAL_KEYS = (
    "username",
    "password",
    "bearerToken",
    "sshPrivateKey",
    "tlsClientCertData",
    "tlsClientCertKey",
    "githubAppPrivateKey",
)
_TRUE = ("true", "yes", "1")


@dataclass(frozen=True, repr=False)
class RepoCredentials:
    """How to authenticate to one repository. ``repr`` and ``str`` never show secret values."""

    username: str = ""
    password: str = ""
    bearer_token: str = ""
    ssh_private_key: str = ""
    tls_client_cert: str = ""
    tls_client_key: str = ""
    ca_data: str = ""
    known_hosts: str = ""
    insecure: bool = False
    force_basic_auth: bool = False
    enable_oci: bool = False  # a Helm repository in an OCI registry (``enableOCI``)
    oci_plain_http: bool = False  # ``insecureOCIForceHttp``: talk to the registry over HTTP
    # A GitHub App (``githubAppID``...): exchanged for an installation token before git runs.
    github_app_id: str = ""
    github_app_installation_id: str = ""
    github_app_private_key: str = ""
    github_app_enterprise_base_url: str = ""
    depth: int = 0  # ``depth``: fetch shallowly, this many commits per ref (0: full history)
    source: str = ""

    def __repr__(self) -> str:
        shown = [f"source={self.source!r}"] if self.source else []
        if self.username:
            shown.append(f"username={self.username!r}")
        if self.github_app_id:
            shown.append(f"github_app_id={self.github_app_id!r}")
        for name in (
            "password",
            "bearer_token",
            "ssh_private_key",
            "tls_client_key",
            "github_app_private_key",
        ):
            if getattr(self, name):
                shown.append(f"{name}=<redacted>")
        for name in ("tls_client_cert", "ca_data", "known_hosts"):
            if getattr(self, name):
                shown.append(f"{name}=<set>")
        if self.insecure:
            shown.append("insecure=True")
        return f"RepoCredentials({', '.join(shown)})"

    __str__ = __repr__

    def secret_values(self) -> list[str]:
        """Every value that must never appear in output (for scrubbing git's stderr)."""
        values = [
            self.password,
            self.bearer_token,
            self.ssh_private_key,
            self.tls_client_key,
            self.github_app_private_key,
        ]
        lines = [line for value in values for line in value.splitlines() if len(line) >= 8]
        if self.username or self.password:
            basic = f"{self.username}:{self.password}".encode()
            lines.append(base64.b64encode(basic).decode())
        return sorted({value for value in [*values, *lines] if value}, key=len, reverse=True)


def _secret_type(secret: Mapping[str, Any]) -> str:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return str(labels.get(constants.LABEL_SECRET_TYPE, ""))


def _secret_name(secret: Mapping[str, Any]) -> str:
    metadata = secret.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}".strip("/")


@dataclass(frozen=True)
class _Candidate:
    name: str
    fields: dict[str, str]


def _candidates(
    secrets: Iterable[Mapping[str, Any]], secret_type: str, project: str | None, kinds: set[str]
) -> list[_Candidate]:
    found = []
    for secret in secrets:
        if _secret_type(secret) != secret_type:
            continue
        fields = model_secrets.fields(secret, strict=False)
        if (fields.get("type") or "git") not in kinds or not fields.get("url"):
            continue  # Helm and OCI repositories are not git sources, and the reverse
        scope = fields.get("project", "")
        if scope and scope != project:
            continue
        found.append(_Candidate(_secret_name(secret), fields))
    # Project-scoped Secrets win over global ones; then a stable order by name.
    return sorted(found, key=lambda c: (not c.fields.get("project"), c.name))


_GITHUB_APP_KEYS = ("githubAppID", "githubAppInstallationID", "githubAppPrivateKey")


def _from_fields(fields: Mapping[str, str], source: str) -> RepoCredentials:
    """The credentials of one Secret's fields; ConfigError naming the Secret for a ``depth``
    that is not a whole number, or a GitHub App missing its id, installation id or key."""
    app = [key for key in _GITHUB_APP_KEYS if fields.get(key, "").strip()]
    if app and len(app) < len(_GITHUB_APP_KEYS):
        missing = ", ".join(key for key in _GITHUB_APP_KEYS if key not in app)
        raise errors.ConfigError(
            f"repository Secret {source}: a GitHub App needs githubAppID,"
            f" githubAppInstallationID and githubAppPrivateKey; {missing} missing"
        )
    return RepoCredentials(
        username=fields.get("username", ""),
        password=fields.get("password", ""),
        bearer_token=fields.get("bearerToken", ""),
        ssh_private_key=fields.get("sshPrivateKey", ""),
        tls_client_cert=fields.get("tlsClientCertData", ""),
        tls_client_key=fields.get("tlsClientCertKey", ""),
        insecure=fields.get("insecure", "").strip().lower() in _TRUE,
        force_basic_auth=fields.get("forceHttpBasicAuth", "").strip().lower() in _TRUE,
        enable_oci=fields.get("enableOCI", "").strip().lower() in _TRUE
        or fields.get("type") == "oci",
        oci_plain_http=fields.get("insecureOCIForceHttp", "").strip().lower() in _TRUE,
        github_app_id=fields.get("githubAppID", "").strip(),
        github_app_installation_id=fields.get("githubAppInstallationID", "").strip(),
        github_app_private_key=fields.get("githubAppPrivateKey", ""),
        github_app_enterprise_base_url=fields.get("githubAppEnterpriseBaseUrl", "").strip(),
        depth=_depth(fields.get("depth", ""), source),
        source=source,
    )


def _depth(text: str, source: str) -> int:
    """argocd's ``depth`` field: a number of commits, 0 or absent for full history."""
    text = text.strip()
    if text and not (text.isascii() and text.isdigit()):
        raise errors.ConfigError(
            f"repository Secret {source}: depth {text[:20]!r} is not a whole number of"
            " commits (0 or absent: full history)"
        )
    return int(text or "0")


def from_secret(secret: Mapping[str, Any]) -> RepoCredentials:
    """The credentials one Secret holds, as they are (no template lookup)."""
    return _from_fields(model_secrets.fields(secret, strict=False), _secret_name(secret))


def _has_credentials(fields: Mapping[str, str]) -> bool:
    return any(fields.get(key) for key in _CREDENTIAL_KEYS)


def credentials_for(
    repo_url: str,
    secrets: Iterable[Mapping[str, Any]],
    *,
    project: str | None = None,
    tls_certs: Mapping[str, str] | None = None,
    known_hosts: str = "",
    repo_type: str = "git",
) -> RepoCredentials | None:
    """Credentials for ``repo_url`` from raw Secret dicts; None when nothing applies.

    ``repo_type`` ``git`` considers git Secrets only; ``helm`` (a chart source) considers
    Secrets of ``type: helm`` and ``type: oci``.

    ``project`` admits Secrets scoped to that AppProject (and prefers them); ``tls_certs`` maps
    a host name to PEM CA certificates; ``known_hosts`` is in OpenSSH known_hosts format.
    """
    secrets = list(secrets)
    kinds = {"git"} if repo_type == "git" else {"helm", "oci"}
    wanted = urls.normalise(repo_url.removeprefix("oci://"))
    repository = next(
        (
            candidate
            for candidate in _candidates(secrets, constants.SECRET_TYPE_REPOSITORY, project, kinds)
            if urls.normalise(candidate.fields["url"].removeprefix("oci://")) == wanted
        ),
        None,
    )
    template = max(
        (
            candidate
            for candidate in _candidates(secrets, constants.SECRET_TYPE_REPO_CREDS, project, kinds)
            if wanted.startswith(
                urls.normalise_prefix(candidate.fields["url"].removeprefix("oci://"))
            )
        ),
        key=lambda c: len(urls.normalise_prefix(c.fields["url"])),
        default=None,
    )
    creds: RepoCredentials | None = None
    if repository is not None and (_has_credentials(repository.fields) or template is None):
        creds = _from_fields(repository.fields, repository.name)
    elif template is not None:
        creds = _from_fields(template.fields, template.name)
        if repository is not None:
            # The repository's own settings (insecure, forceHttpBasicAuth) override the
            # template's; only the credentials are borrowed.
            own = _from_fields(repository.fields, repository.name)
            creds = dataclasses.replace(
                creds,
                insecure=own.insecure or creds.insecure,
                force_basic_auth=own.force_basic_auth or creds.force_basic_auth,
                enable_oci=own.enable_oci or creds.enable_oci,
                oci_plain_http=own.oci_plain_http or creds.oci_plain_http,
                depth=own.depth or creds.depth,
                source=f"{repository.name} (credentials from {template.name})",
            )
    ca_data = (tls_certs or {}).get(urls.hostname(repo_url), "") if urls.is_https(repo_url) else ""
    hosts = known_hosts if urls.is_ssh(repo_url) else ""
    if creds is None and not ca_data and not hosts:
        return None
    return dataclasses.replace(creds or RepoCredentials(), ca_data=ca_data, known_hosts=hosts)
