"""Sources that are not git repositories: Helm charts (``chart``) and OCI artifacts (``oci://``).

Glue between an Application's source, the registered repository Secrets and
:class:`tidegate.sources.charts.ChartCache`: which credentials apply, which Helm repositories
``helm dependency build`` may use, and where the fetched tree is rendered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate import render
from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets
from tidegate.model import source as model_source
from tidegate.sources import charts as charts_mod
from tidegate.sources import credentials as creds_mod


def is_chart_source(src: model_source.ApplicationSource) -> bool:
    """Whether ``src`` is fetched by the chart cache rather than from git."""
    return bool(src.chart) or src.repo_url.strip().startswith("oci://")


def registered_helm_repos(secrets: Sequence[Mapping[str, Any]]) -> list[charts_mod.HelmRepo]:
    """Every ``repository`` Secret of type helm or oci, with its credentials (templates
    applied), for ``helm dependency build``; and the OCI ``repo-creds`` templates, whose
    credentials log in to their registry (a registry login is per host)."""
    found: list[charts_mod.HelmRepo] = []
    for secret in secrets:
        labels = (secret.get("metadata") or {}).get("labels") or {}
        kind = labels.get(constants.LABEL_SECRET_TYPE)
        fields = model_secrets.fields(secret, strict=False)
        if fields.get("type") not in ("helm", "oci") or not fields.get("url"):
            continue
        if kind == constants.SECRET_TYPE_REPOSITORY:
            creds = creds_mod.credentials_for(fields["url"], secrets, repo_type="helm")
            found.append(charts_mod.HelmRepo(fields["url"], creds))
        elif kind == constants.SECRET_TYPE_REPO_CREDS:
            template = creds_mod.from_secret(secret)
            if template.enable_oci:
                found.append(charts_mod.HelmRepo(fields["url"], template))
    return found


async def fetch(
    src: model_source.ApplicationSource,
    *,
    cache: charts_mod.ChartCache,
    secrets: Sequence[Mapping[str, Any]],
    revision: str,
    max_age: float | None,
    label: str,
) -> charts_mod.FetchedChart:
    """Fetch the chart or OCI artifact ``src`` names, at ``revision`` (version, range, tag)."""
    creds = creds_mod.credentials_for(src.repo_url, secrets, repo_type="helm")
    request = charts_mod.ChartRequest(
        repo_url=src.repo_url,
        chart=src.chart or "",
        revision="" if revision == "HEAD" else revision,
        creds=creds,
        pass_credentials=bool(src.helm and src.helm.pass_credentials),
    )
    helm = render.discover().helm
    try:
        return await cache.fetch(
            request,
            max_age=max_age,
            helm=helm,
            registered=registered_helm_repos(secrets),
        )
    except errors.TidegateError as exc:
        raise type(exc)(f"{label}: {exc}") from exc


def render_location(
    src: model_source.ApplicationSource, fetched: charts_mod.FetchedChart
) -> tuple[str, render.SourceType | None]:
    """The path to render inside ``fetched.root``, and the source type if it is fixed."""
    if src.chart:
        return fetched.path, render.SourceType.HELM
    path = src.path or "."
    if fetched.path != ".":
        path = fetched.path if path in ("", ".") else f"{fetched.path}/{path}"
    return path, None


def cache_commit(fetched: charts_mod.FetchedChart) -> str:
    """What keys the render cache for a fetched tree: its content digest."""
    return f"chart:{fetched.digest}:{fetched.version}"
