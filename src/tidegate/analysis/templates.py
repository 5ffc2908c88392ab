"""Read the AnalysisTemplates and ClusterAnalysisTemplates a Rollout names (I/O).

``await templates.load(client, namespace, block)`` returns ``(templates, cluster_templates)``
for :func:`runs.new_run_for_rollout`; a template that does not exist is an
:class:`names.AnalysisSpecError` naming it, for the Rollout's status condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.analysis import names, runs
from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey


async def load(
    client: kube_client.KubeClient, namespace: str, block: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    templates: list[dict[str, Any]] = []
    cluster_templates: list[dict[str, Any]] = []
    for name, cluster_scope in runs.template_refs(block):
        kind = names.CLUSTER_TEMPLATE_KIND if cluster_scope else names.TEMPLATE_KIND
        ns = "" if cluster_scope else namespace
        try:
            found = await client.get_or_none(ResourceKey(names.GROUP, kind, ns, name))
        except errors.UnknownKindError:
            found = None
        if found is None:
            where = f"{ns}/" if ns else ""
            raise names.AnalysisSpecError(f"{kind} {where}{name} not found")
        (cluster_templates if cluster_scope else templates).append(found)
    return templates, cluster_templates
