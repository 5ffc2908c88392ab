"""Resource actions on an app's live objects, as Argo CD's server runs them: the actions offered
(built-in ones and argocd-cm's ``resource.customizations.actions``), and running one.

Shared by ``tidegate app actions`` (direct mode) and the API server's
``/api/v1/applications/{name}/resource/actions``. Every script runs before anything changes
(:func:`plan` is pure), so one failing script changes nothing; :func:`apply` then sends a
``patch`` result as the JSON merge patch from the live object to the script's (its ``status``
through the status subresource, as Argo CD does) and creates a ``create`` result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.controller import argocdcm
from tidegate.kube import client as kube_client
from tidegate.lua import actions as lua_actions
from tidegate.lua import builtin_actions
from tidegate.model import mergepatch
from tidegate.model.keys import ResourceKey

Obj = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Live:
    """A live object of the app, with the API version the app's status records for it."""

    key: ResourceKey
    version: str
    obj: Obj


@dataclasses.dataclass(frozen=True)
class Planned:
    live: Live
    impacted: tuple[lua_actions.ImpactedResource, ...]


async def registry(client: kube_client.KubeClient, namespace: str) -> builtin_actions.WithBuiltins:
    """The actions of the control ``namespace``'s argocd-cm, with the built-ins."""
    key = ResourceKey("", "ConfigMap", namespace, argocdcm.CONFIGMAP_NAME)
    cm = await client.get_or_none(key, version="v1") or {}
    return builtin_actions.WithBuiltins(argocdcm.parse(cm.get("data") or {}).actions)


def offered(actions: builtin_actions.WithBuiltins, obj: Mapping[str, Any]) -> list[Obj]:
    """Argo CD's ``ResourceAction`` JSON of each action offered for ``obj``."""
    return [action.to_dict() for action in actions.list(obj)]


def plan(
    actions: builtin_actions.WithBuiltins,
    live: Sequence[Live],
    action: str,
    params: Mapping[str, str] | None = None,
) -> list[Planned]:
    """Run ``action``'s script on each object (raises ``ActionError`` on the first failure)."""
    return [Planned(item, tuple(actions.run(item.obj, action, params))) for item in live]


async def apply(client: kube_client.KubeClient, planned: Sequence[Planned]) -> list[str]:
    """Make the planned changes; one ``KIND/NAME patched|unchanged|created`` line each."""
    done = []
    for step in planned:
        for item in step.impacted:
            target = ResourceKey.of(item.resource)
            if item.operation == "create":
                await client.create(item.resource)
                done.append(f"{target.kind}/{target.name} created")
                continue
            same = target == step.live.key
            base = step.live.obj if same else await client.get(target)
            patch = mergepatch.between(base, item.resource)
            status = patch.pop("status", None)
            version = (step.live.version or None) if same else None
            if patch:
                await client.patch(target, patch, version=version)
            if status:
                await client.patch(
                    target, {"status": status}, version=version, subresource="status"
                )
                patch["status"] = status
            done.append(f"{target.kind}/{target.name} {'patched' if patch else 'unchanged'}")
    return done
