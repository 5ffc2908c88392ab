"""RepositoryService beyond list/get/create/delete (update, connection test) and RepoCredsService.

- ``PUT /api/v1/repositories/{repo}`` replaces a registration that exists (404 otherwise); a
  credential the body leaves out (a GET shows none) is kept from the stored Secret.
- ``POST /api/v1/repositories/{repo}/validate`` runs the connection test ``tidegate repo add``
  runs (``git ls-remote``) with the body's credentials, else the ones that apply already
  (a ``repo-creds`` template, trusted certificates, known hosts); a Helm repository's
  ``index.yaml`` or an OCI registry's ``/v2/`` for the other types; nothing is written. A failure
  is a 400 naming the repository; git's output is scrubbed of credentials.
- ``/api/v1/repocreds``: credential templates (``repo-creds`` Secrets, URL prefixes): list,
  create (``upsert``), update, delete; replies never carry a secret value.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, credentials, errors, security
from tidegate.auth import access
from tidegate.controller import repo_states, repos
from tidegate.model import constants
from tidegate.model import errors as tg_errors
from tidegate.model import secrets as model_secrets
from tidegate.sources import credentials as creds_mod
from tidegate.sources import urls

router = fastapi.APIRouter(tags=["RepositoryService", "RepoCredsService"])
Obj = dict[str, Any]
TEST_SECONDS = 30.0
KEPT = {  # body field (= Secret key) -> RepoSpec field: kept from the stored Secret if omitted
    "username": "username",
    "password": "password",
    "sshPrivateKey": "ssh_private_key",
    "tlsClientCertData": "tls_client_cert",
    "tlsClientCertKey": "tls_client_key",
}


async def _stored(ctx: context.ServerContext, secret_type: str, url: str) -> Obj:
    """The stored Secret registering ``url`` (404 when there is none)."""
    found = repos.find(
        await credentials.secrets_of_type(ctx, secret_type), url, secret_type=secret_type
    )
    if found is None:
        what = "repository" if secret_type == constants.SECRET_TYPE_REPOSITORY else "repo-creds"
        raise errors.ApiError(404, f"{what} {urls.display(url)[:200]!r} not found")
    return dict(found)


def _keep_credentials(spec: repos.RepoSpec, body: Mapping[str, Any], stored: Obj) -> repos.RepoSpec:
    fields = model_secrets.fields(stored, strict=False)
    kept: dict[str, Any] = {
        attr: fields.get(key, "") for key, attr in KEPT.items() if key not in body
    }
    return dataclasses.replace(spec, **{k: v for k, v in kept.items() if v})


async def _update(
    request: Request, url: str, subject: access.Subject, secret_type: str, url_field: str
) -> repos.Repository:
    ctx = context.of(request)
    body = await security.json_object(request)
    stored = await _stored(ctx, secret_type, url)
    current_url = model_secrets.fields(stored, strict=False).get("url", "")
    if urls.normalise(str(body.get(url_field) or current_url)) != urls.normalise(current_url):
        raise errors.ApiError(400, "the URL of a registration cannot be changed; add a new one")
    what = "repository" if url_field == "repo" else "repo-creds"
    spec = credentials.repo_spec({**body, url_field: current_url}, url_field=url_field, what=what)
    spec = _keep_credentials(spec, body, stored)
    security.authorize(
        subject, "repositories", "update", f"{spec.project}/{urls.display(spec.url)}"
    )
    secret = repos.repository_secret(
        spec,
        namespace=ctx.namespace,
        secret_name=stored["metadata"]["name"],
        secret_type=secret_type,
    )
    await credentials.create_secret(
        request, secret, upsert=True, same=repos.same_registration, what=what
    )
    return repos.repository_from_secret(secret)


@router.put("/api/v1/repositories/{repo:path}", summary="Update a repository")
async def update_repository(
    request: Request, repo: str, subject: access.Subject = security.Subject
) -> Obj:
    found = await _update(request, repo, subject, constants.SECRET_TYPE_REPOSITORY, "repo")
    return repo_states.repository_json(found)


@router.post("/api/v1/repositories/{repo:path}/validate", summary="Test repository access")
async def validate_access(
    request: Request, repo: str, subject: access.Subject = security.Subject
) -> Obj:
    ctx = context.of(request)
    body = await security.json_object(request)
    given = {k: v for k, v in body.items() if v not in (None, "", False)}  # proto zero values
    spec = credentials.repo_spec({**given, "repo": repo})
    shown = urls.display(spec.url)
    security.authorize(subject, "repositories", "create", f"{spec.project}/{shown}")
    wanted = repos.repository_secret(spec, namespace=ctx.namespace)
    stored = [
        s
        for kind in (constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_REPO_CREDS)
        for s in await credentials.secrets_of_type(ctx, kind)
    ]
    if any(given.get(k) for k in (*KEPT, "bearerToken", "githubAppPrivateKey")):
        wanted_url = urls.normalise(spec.url)
        stored = [
            s
            for s in stored
            if urls.normalise(model_secrets.fields(s, strict=False).get("url", "")) != wanted_url
        ]
        stored.insert(0, wanted)
    tls, known_hosts = await repos.trust(ctx.client, ctx.namespace)
    if spec.type != "git":  # a Helm repository's index.yaml, an OCI registry's /v2/
        chart_creds = creds_mod.credentials_for(
            spec.url, stored, project=spec.project or None, tls_certs=tls, repo_type="helm"
        )
        try:
            await repos.check_chart_access(spec.url, chart_creds, time_limit=TEST_SECONDS)
        except tg_errors.TidegateError as exc:
            raise errors.ApiError(400, f"unable to connect to repository {shown}: {exc}") from None
        return {}
    creds = creds_mod.credentials_for(
        spec.url, stored, project=spec.project or None, tls_certs=tls, known_hosts=known_hosts
    )
    if creds is None and (spec.insecure or spec.insecure_ignore_host_key):
        creds = spec.credentials(known_hosts=known_hosts)
    try:
        with tempfile.TemporaryDirectory(prefix="tidegate-validate-") as state:
            await repos.check_access(
                spec.url, creds, state_dir=Path(state), git_timeout=TEST_SECONDS
            )
    except tg_errors.TidegateError as exc:
        raise errors.ApiError(400, f"unable to connect to repository {shown}: {exc}") from None
    return {}


# -- repo-creds ----------------------------------------------------------------------------------


@router.get("/api/v1/repocreds", summary="List repository credential templates")
async def list_repo_creds(
    request: Request, subject: access.Subject = security.Subject, url: str = ""
) -> Obj:
    secrets = await credentials.secrets_of_type(
        context.of(request), constants.SECRET_TYPE_REPO_CREDS
    )
    items = []
    for found in repos.repositories(secrets, secret_type=constants.SECRET_TYPE_REPO_CREDS):
        if url and urls.normalise(found.url) != urls.normalise(url):
            continue
        try:
            security.authorize(subject, "repositories", "get", f"{found.project}/{found.url}")
        except access.PermissionDeniedError:
            continue
        items.append(repo_states.repo_creds_json(found))
    return {"metadata": {}, "items": items}


@router.post("/api/v1/repocreds", summary="Create a repository credential template")
async def create_repo_creds(
    request: Request, subject: access.Subject = security.Subject, upsert: bool = False
) -> Obj:
    ctx = context.of(request)
    body = await security.json_object(request)
    spec = credentials.repo_spec(body, url_field="url", what="repo-creds")
    shown = urls.display(spec.url)
    security.authorize(subject, "repositories", "create", f"{spec.project}/{shown}")
    kind = constants.SECRET_TYPE_REPO_CREDS
    existing = repos.find(await credentials.secrets_of_type(ctx, kind), spec.url, secret_type=kind)
    secret = repos.repository_secret(
        spec,
        namespace=ctx.namespace,
        secret_name=existing["metadata"]["name"] if existing else None,
        secret_type=constants.SECRET_TYPE_REPO_CREDS,
    )
    await credentials.create_secret(
        request, secret, upsert=upsert, same=repos.same_registration, what="repo-creds"
    )
    return repo_states.repo_creds_json(repos.repository_from_secret(secret))


@router.put("/api/v1/repocreds/{url:path}", summary="Update a repository credential template")
async def update_repo_creds(
    request: Request, url: str, subject: access.Subject = security.Subject
) -> Obj:
    found = await _update(request, url, subject, constants.SECRET_TYPE_REPO_CREDS, "url")
    return repo_states.repo_creds_json(found)


@router.delete("/api/v1/repocreds/{url:path}", summary="Delete a repository credential template")
async def delete_repo_creds(
    request: Request, url: str, subject: access.Subject = security.Subject
) -> Obj:
    ctx = context.of(request)
    stored = await _stored(ctx, constants.SECRET_TYPE_REPO_CREDS, url)
    found = repos.repository_from_secret(stored)
    security.authorize(subject, "repositories", "delete", f"{found.project}/{found.url}")
    await credentials.delete_secret(ctx, found.secret_name)
    return {}
