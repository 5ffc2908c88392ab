"""``spec.restartAt``: replace the Rollout's pods created until that time, one at a time (I/O).

A pod is deleted only while every other pod is available, so a restart never costs more than
one pod of capacity; the ReplicaSet then creates its replacement. When no pod older than
``restartAt`` is left, ``status.restartedAt`` records it (what ``kubectl argo rollouts restart``
waits for).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import podhash, spec
from tidegate.rollouts.world import Context, parse_time

RECHECK_SECONDS = 1.0


async def step(
    client: kube_client.KubeClient,
    rollout: Mapping[str, Any],
    ctx: Context,
    status: dict[str, Any],
) -> None:
    """Advance a requested restart by at most one pod; ``status`` gets ``restartedAt`` when done."""
    wanted = (rollout.get("spec") or {}).get("restartAt")
    when = parse_time(wanted)
    if when is None or status.get("restartedAt") == wanted:
        return
    if when > ctx.now:
        ctx.wake_in((when - ctx.now).total_seconds())
        return
    ns = str((rollout.get("metadata") or {}).get("namespace") or "")
    selector = podhash.selector_of(rollout, ctx.template).get("matchLabels") or {}
    res = await client.resource("", "Pod", "v1")
    listed = await client.list(
        res, namespace=ns, label_selector=",".join(f"{k}={v}" for k, v in selector.items())
    )
    pods = [p for p in listed.items if not (p.get("metadata") or {}).get("deletionTimestamp")]
    # Timestamps have whole seconds: a pod made in restartAt's own second may predate the
    # request, so it is replaced too (a replacement made in that second is, at worst, replaced
    # once more, one pod at a time as below).
    old = [
        p
        for p in pods
        if (created := parse_time((p.get("metadata") or {}).get("creationTimestamp")))
        and created <= when
    ]
    if not old:
        status["restartedAt"] = wanted
        return
    ctx.wake_in(RECHECK_SECONDS)
    if len(pods) < spec.replicas(rollout) or int(status.get("availableReplicas") or 0) < len(pods):
        return  # wait until every pod is back and available
    oldest = min(old, key=lambda p: str((p.get("metadata") or {}).get("creationTimestamp")))
    await client.delete(ResourceKey("", "Pod", ns, podhash.name_of(oldest)))
