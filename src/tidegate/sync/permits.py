"""Check an app's target objects against its project and cluster before anything is applied.

The rules are pure (:mod:`tidegate.sync.projects`); this step only asks the cluster's API
discovery (cached by the client) whether each kind is namespaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import keys
from tidegate.sync import prepare, projects


async def target_refusals(
    objs: Iterable[Mapping[str, Any]],
    *,
    client: kube_client.KubeClient,
    rules: projects.Rules,
    destination_namespace: str,
) -> list[projects.Refusal]:
    """Every refusal for the objects (empty: all may be managed)."""
    scoped = await prepare.scoped_keys(
        objs, client=client, destination_namespace=destination_namespace
    )
    return projects.refusals(rules, scoped)


async def check_targets(
    objs: Iterable[Mapping[str, Any]],
    *,
    client: kube_client.KubeClient,
    rules: projects.Rules,
    destination_namespace: str,
) -> None:
    """Raise :class:`ProjectPermissionError` / :class:`ClusterScopeError` naming every refused
    object and the rule that refused it."""
    found = await target_refusals(
        objs, client=client, rules=rules, destination_namespace=destination_namespace
    )
    if found:
        raise projects.refused_error(found)


async def created_namespace(
    client: kube_client.KubeClient,
    *,
    namespace: str,
    create_namespace: bool,
    managed_metadata: bool,
) -> list[dict[str, Any]]:
    """The Namespace that ``CreateNamespace=true`` will create (or label, with
    ``managedNamespaceMetadata``), as a target to check like the rendered ones: as in Argo CD,
    the project must permit the Namespace kind when the sync creates or changes it."""
    if not namespace or not create_namespace:
        return []
    if not managed_metadata:
        key = keys.ResourceKey("", "Namespace", "", namespace)
        if await client.get_or_none(key) is not None:
            return []
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
