"""The ApplicationSet controller writes Argo CD's events about the set: which Application it
created, updated or deleted."""

from __future__ import annotations

import copy
from typing import Any

from tidegate.kube import events as kube_events
from tidegate.metrics import exposition
from tidegate.testenv.wait import eventually

from . import bed

SET = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "evented"},
    "spec": {
        "generators": [{"list": {"elements": [{"env": "a"}, {"env": "b"}]}}],
        "template": {
            "metadata": {"name": "evented-{{env}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": "https://example.invalid/r.git", "path": "{{env}}"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
            },
        },
    },
}


async def _events(env: bed.Env) -> list[tuple[str, str]]:
    response = await env.kube.request(
        "GET",
        f"/api/v1/namespaces/{env.namespace}/events",
        what="list events",
        params={
            "fieldSelector": kube_events.involved_selector(
                "ApplicationSet", env.namespace, "evented"
            )
        },
    )
    items: list[dict[str, Any]] = response.body.get("items") or []
    return sorted((e["reason"], e["message"]) for e in items)


async def test_created_and_deleted_applications_are_events_of_the_set(env: bed.Env) -> None:
    await env.apply_set(SET)
    created = [("created", 'created Application "evented-a"'),
               ("created", 'created Application "evented-b"')]  # fmt: skip
    await eventually(lambda: _has(env, created), within=30)
    fewer = copy.deepcopy(SET)
    fewer["spec"]["generators"][0]["list"]["elements"] = [{"env": "a"}]
    await env.apply_set(fewer)
    await eventually(lambda: _has(env, [("Deleted", 'Deleted Application "evented-b"')]), within=30)
    text = exposition.render(env.controller.metrics).decode()
    assert (
        f'argocd_appset_owned_applications{{namespace="{env.namespace}",name="evented"}} 1.0'
        in text
    )


async def _has(env: bed.Env, wanted: list[tuple[str, str]]) -> bool:
    seen = await _events(env)
    return all(w in seen for w in wanted)
