"""Generated Applications against their AppProjects (pure): the ApplicationSet controller writes
no Application its project does not permit (it would only fail later, in the app controller).

An app is refused when its project does not exist, is invalid, or does not permit the app's
namespace, source repositories or destination (``tidegate.sync.projects``, the same rules the
application controller applies). A refused app is neither created nor updated nor deleted; the
set reports it in an ``ErrorOccurred`` condition (reason ``ApplicationValidationError``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model import project as model_project
from tidegate.sync import projects as sync_projects


def _cluster(
    dest: model_app.Destination, clusters: Sequence[Mapping[str, Any]]
) -> tuple[str, str, str]:
    """(server, name, project) of the destination, from the cluster list when it is there."""
    for entry in clusters:
        if (dest.server and entry.get("server") == dest.server) or (
            not dest.server and dest.name and entry.get("name") == dest.name
        ):
            return (
                str(entry.get("server") or ""),
                str(entry.get("name") or ""),
                str(entry.get("project") or ""),
            )
    return dest.server or "", dest.name or "", ""


def refused_applications(
    desired: Iterable[Mapping[str, Any]],
    *,
    projects: Mapping[str, Mapping[str, Any]],
    clusters: Sequence[Mapping[str, Any]],
    control_namespace: str,
) -> dict[str, str]:
    """App name -> why its project does not permit it, for the generated apps refused."""
    out: dict[str, str] = {}
    for raw in desired:
        name = str((raw.get("metadata") or {}).get("name") or "")
        try:
            app = model_app.parse_application(raw)
        except errors.SpecError as exc:
            out[name] = f"Application '{name}': {exc}"
            continue
        project: model_project.AppProject | None = None
        raw_project = projects.get(app.spec.project_name)
        if raw_project is not None:
            try:
                project = model_project.parse_project(raw_project)
            except errors.SpecError as exc:
                out[name] = f"Application '{name}': project '{app.spec.project_name}': {exc}"
                continue
        server, cluster_name, cluster_project = _cluster(app.spec.destination, clusters)
        problems = sync_projects.app_violations(
            app,
            project,
            control_namespace=control_namespace,
            server=server,
            cluster_name=cluster_name,
            cluster_project=cluster_project,
        )
        if problems:
            out[name] = f"Application '{name}' is not generated: " + "; ".join(problems)
    return out
