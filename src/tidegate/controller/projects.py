"""The controller's side of AppProject enforcement (pure): an app's rules from its project and
destination cluster, and the conditions that report what the rules refused.

The rules themselves are :mod:`tidegate.sync.projects` (shared with the ApplicationSet
controller); docs/projects.md describes the model. Where they are checked:

- every refresh and operation: :func:`violations` (project exists, app namespace, repositories,
  destination) before anything is rendered;
- every refresh and operation: each rendered object against :class:`Rules`
  (``sync.permits.check_targets``) before anything is applied; a refresh reports refusals as an
  ``InvalidSpecError`` (``ComparisonError`` when only the cluster registration refuses);
- live objects the rules do not permit are kept out of comparison, prune and cascade deletion
  (``sync.projects.split_live``) and reported by :func:`report_left_alone`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.controller import appstatus, clusters
from tidegate.model import application as model_app
from tidegate.model import project as model_project
from tidegate.sync import projects as sync_projects

EXCLUDED_RESOURCE_WARNING = "ExcludedResourceWarning"


def violations(
    app: model_app.Application,
    project: model_project.AppProject | None,
    *,
    control_namespace: str,
    cluster: clusters.Cluster,
) -> list[str]:
    """Why ``app`` may not use its project on ``cluster`` at all (empty when it may)."""
    return sync_projects.app_violations(
        app,
        project,
        control_namespace=control_namespace,
        server=cluster.server,
        cluster_name=cluster.name,
        cluster_project=cluster.project,
    )


def rules_for(
    project: model_project.AppProject | None, cluster: clusters.Cluster
) -> sync_projects.Rules | None:
    """What limits an app's objects on ``cluster`` (None without a project: the app-level
    check has refused the app already)."""
    if project is None:
        return None
    return sync_projects.Rules(
        project=project,
        server=cluster.server,
        cluster_name=cluster.name,
        cluster_namespaces=tuple(cluster.namespaces),
        cluster_resources=cluster.cluster_resources,
    )


def report_left_alone(
    conditions: Sequence[Mapping[str, Any]] | None,
    left: Sequence[sync_projects.Refusal],
    *,
    at: str,
) -> list[dict[str, Any]] | None:
    """``conditions`` with an ``ExcludedResourceWarning`` naming the live objects the app tracks
    but may not manage (neither pruned nor deleted), or without one when there are none."""
    if not left:
        return appstatus.clear_conditions(conditions, [EXCLUDED_RESOURCE_WARNING]) or None
    message = (
        "live objects the project or cluster does not permit are left alone (never pruned or "
        f"deleted): {sync_projects.describe(left)}"
    )
    return appstatus.set_condition(conditions, EXCLUDED_RESOURCE_WARNING, message, at=at)
