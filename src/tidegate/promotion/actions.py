"""What people ask of promotion: promote, approve, refresh, abort (I/O; the CLI and the server).

Each checks first and writes nothing when the request is wrong: a Freight that is not available
to the Stage, an approval for a Stage the Freight was not verified upstream of, a Stage whose
template has a step Tidegate does not know. Messages name the project, Stage and Freight.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.promotion import availability, builtin_steps, promotions
from tidegate.promotion.crds import GROUP
from tidegate.promotion.freight import ALIAS_LABEL

Obj = dict[str, Any]


class RequestError(errors.TidegateError):
    """A promotion request that cannot be carried out as asked."""


class NotFoundError(RequestError):
    """The request names an object that does not exist."""


async def get(kube: kube_client.KubeClient, kind: str, ns: str, name: str) -> Obj:
    obj = await kube.get_or_none(ResourceKey(GROUP, kind, ns, name))
    if obj is None:
        raise NotFoundError(f"{kind} {name!r} does not exist in project {ns}")
    return obj


async def list_kind(kube: kube_client.KubeClient, kind: str, ns: str) -> list[Obj]:
    res = await kube.resource(GROUP, kind)
    return (await kube.list(res, namespace=ns)).items


async def list_projects(kube: kube_client.KubeClient) -> list[Obj]:
    """The Kargo Projects (cluster-scoped), by name."""
    res = await kube.resource(GROUP, "Project")
    return sorted((await kube.list(res)).items, key=lambda p: str(p["metadata"]["name"]))


async def get_project(kube: kube_client.KubeClient, name: str) -> Obj:
    obj = await kube.get_or_none(ResourceKey(GROUP, "Project", "", name))
    if obj is None:
        raise NotFoundError(f"Project {name!r} does not exist")
    return obj


async def find_freight(
    kube: kube_client.KubeClient, ns: str, *, name: str = "", alias: str = ""
) -> Obj:
    if name:
        return await get(kube, "Freight", ns, name)
    res = await kube.resource(GROUP, "Freight")
    found = (await kube.list(res, namespace=ns, label_selector=f"{ALIAS_LABEL}={alias}")).items
    if not found:
        raise NotFoundError(f"no Freight with alias {alias!r} in project {ns}")
    return found[0]


async def promote(
    kube: kube_client.KubeClient,
    ns: str,
    stage_name: str,
    *,
    freight_name: str = "",
    alias: str = "",
    actor: str,
) -> Obj:
    """Create a Promotion of the Freight (or the newest available one) to the Stage."""
    stage = await get(kube, "Stage", ns, stage_name)
    now = datetime.datetime.now(datetime.UTC)
    if freight_name or alias:
        freight = await find_freight(kube, ns, name=freight_name, alias=alias)
        reason = availability.why_unavailable(
            freight, stage_name, availability.requests(stage), now
        )
        if reason is not None:
            raise RequestError(
                f"Freight {freight['metadata']['name']} ({freight.get('alias', '')}) cannot be "
                f"promoted to Stage {stage_name} of project {ns}: {reason}"
            )
    else:
        choices = availability.available(
            await list_kind(kube, "Freight", ns), stage_name, stage, now
        )
        if not choices:
            raise RequestError(f"no Freight is available to Stage {stage_name} of project {ns}")
        freight = dict(choices[0])
    tasks = {}
    for kind in ("PromotionTask", "ClusterPromotionTask"):
        res = await kube.resource(GROUP, kind)
        where = ns if kind == "PromotionTask" else None
        for task in (await kube.list(res, namespace=where)).items:
            tasks[f"{kind}/{task['metadata']['name']}"] = task
    try:
        step_list, declared = promotions.template_steps(stage, tasks, builtin_steps.STEPS)
    except promotions.PromotionError as exc:
        raise RequestError(str(exc)) from None
    promo = promotions.new_promotion(
        namespace=ns,
        stage=stage_name,
        freight=str(freight["metadata"]["name"]),
        steps=step_list,
        vars_=declared,
        actor=actor,
    )
    return await kube.create(promo)


async def approve(
    kube: kube_client.KubeClient,
    ns: str,
    stage_name: str,
    *,
    freight_name: str = "",
    alias: str = "",
) -> Obj:
    """Mark the Freight approved for the Stage (it must be verified in one of its upstreams)."""
    stage = await get(kube, "Stage", ns, stage_name)
    freight = await find_freight(kube, ns, name=freight_name, alias=alias)
    fname = str(freight["metadata"]["name"])
    origin = str((freight.get("origin") or {}).get("name") or "")
    reqs = [r for r in availability.requests(stage) if r.warehouse == origin]
    if not reqs:
        raise RequestError(
            f"Stage {stage_name} of project {ns} does not take Freight from Warehouse {origin!r}"
        )
    upstreams = [u for r in reqs for u in r.upstreams]
    verified = (freight.get("status") or {}).get("verifiedIn") or {}
    if upstreams and not any(u in verified for u in upstreams):
        raise RequestError(
            f"Freight {fname} is not verified in any Stage upstream of {stage_name} "
            f"({', '.join(upstreams)}): approve it once it is verified there"
        )
    when = availability.format_time(datetime.datetime.now(datetime.UTC))
    return await kube.patch(
        ResourceKey(GROUP, "Freight", ns, fname),
        {"status": {"approvedFor": {stage_name: {"approvedAt": when}}}},
        subresource="status",
    )


async def refresh_warehouse(kube: kube_client.KubeClient, ns: str, name: str) -> Obj:
    await get(kube, "Warehouse", ns, name)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patch = {"metadata": {"annotations": {"kargo.akuity.io/refresh": stamp}}}
    return await kube.patch(ResourceKey(GROUP, "Warehouse", ns, name), patch)


async def abort(kube: kube_client.KubeClient, ns: str, name: str) -> Obj:
    promo = await get(kube, "Promotion", ns, name)
    if promotions.phase(promo) in promotions.TERMINAL:
        raise RequestError(
            f"Promotion {name} in project {ns} already ended ({promotions.phase(promo)})"
        )
    patch = {"metadata": {"annotations": {promotions.ABORT_ANNOTATION: "true"}}}
    return await kube.patch(ResourceKey(GROUP, "Promotion", ns, name), patch)


def summary(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")
