"""What the promotion pipeline page shows, shaped from the Kargo objects (pure, no I/O).

The pipeline is drawn as columns: the Warehouses first, then each Stage in the column after
the deepest Stage it takes Freight from (a Stage fed directly by a Warehouse is in column 1).
Each Stage card carries its current Freight, health, last verification and last promotion, the
Freight it could be promoted to (available now, newest first) and the Freight that could be
approved for it (verified in an upstream Stage, not yet approved: an approval makes it available
whatever the soak time), with the reason when the user's role forbids promoting or approving.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.promotion import availability
from tidegate.promotion import promotions as promotions_mod

Obj = dict[str, Any]


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def artifacts(freight: Mapping[str, Any]) -> list[str]:
    """The Freight's artifact versions, short (``image:tag``, ``repo@abcdef0``, ``chart:1.2``)."""
    out = [
        f"{str(i.get('repoURL') or '').rsplit('/', 1)[-1]}:{i.get('tag') or i.get('digest')}"
        for i in freight.get("images") or ()
    ]
    out += [
        f"{str(c.get('repoURL') or '').rsplit('/', 1)[-1]}@{str(c.get('id') or '')[:7]}"
        for c in freight.get("commits") or ()
    ]
    out += [
        f"{c.get('name') or c.get('repoURL')}:{c.get('version')}"
        for c in freight.get("charts") or ()
    ]
    return out


def freight_label(freight: Mapping[str, Any]) -> Obj:
    return {
        "name": _name(freight),
        "alias": str(freight.get("alias") or _name(freight)[:7]),
        "artifacts": artifacts(freight),
    }


def depths(stages: Sequence[Obj]) -> dict[str, int]:
    """Column of each Stage: 1 + the deepest upstream (1 for direct ones); a cycle stops."""
    by_name = {_name(s): s for s in stages}
    memo: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in memo:
            return memo[name]
        stage = by_name.get(name)
        if stage is None or name in seen:
            return 0
        ups = [u for r in availability.requests(stage) for u in r.upstreams]
        value = 1 + max((depth(u, seen | {name}) for u in ups), default=0)
        memo[name] = value
        return value

    return {name: depth(name, frozenset()) for name in by_name}


def _verification(stage: Mapping[str, Any]) -> str:
    history = (stage.get("status") or {}).get("freightHistory") or []
    if not history:
        return ""
    entries = history[0].get("verificationHistory") or []
    return str(entries[0].get("phase") or "") if entries else "Pending"


def stage_card(
    stage: Obj,
    freights: Sequence[Obj],
    now: datetime.datetime,
    denied: Callable[[str], str],
) -> Obj:
    """One Stage as its card shows it. ``denied(action)``: why the user may not (or "")."""
    name = _name(stage)
    status = stage.get("status") or {}
    by_name = {_name(f): f for f in freights}
    current = [
        freight_label(by_name[f]) if f in by_name else {"name": f, "alias": f[:7], "artifacts": []}
        for f in availability.current_freight(stage).values()
        if f
    ]
    held = {c["name"] for c in current}
    reqs = availability.requests(stage)
    upstreams = sorted({u for r in reqs for u in r.upstreams})
    promotable = [
        freight_label(f)
        for f in availability.available(freights, name, stage, now)
        if _name(f) not in held
    ]
    approvable = [
        freight_label(f)
        for f in sorted(
            freights, key=lambda f: str(f["metadata"].get("creationTimestamp") or ""), reverse=True
        )
        if upstreams
        and not availability.approved_for(f, name)
        and _name(f) not in held
        and any(u in ((f.get("status") or {}).get("verifiedIn") or {}) for u in upstreams)
    ]
    last = status.get("lastPromotion") or {}
    running = status.get("currentPromotion") or {}
    health = status.get("health") or {}
    return {
        "name": name,
        "upstreams": upstreams,
        "warehouses": sorted({r.warehouse for r in reqs if r.direct}),
        "current": current,
        "health": str(health.get("status") or ("Unknown" if current else "NotApplicable")),
        "issues": [str(i) for i in health.get("issues") or ()],
        "verification": _verification(stage),
        "last_promotion": {
            "name": str(last.get("name") or ""),
            "phase": str((last.get("status") or {}).get("phase") or ""),
            "message": str((last.get("status") or {}).get("message") or ""),
        },
        "running": str(running.get("name") or ""),
        "promotable": promotable,
        "approvable": approvable,
        "deny_promote": denied("promote")
        or ("" if promotable else "No Freight is available to this Stage"),
        "deny_approve": denied("approve")
        or ("" if approvable else "No Freight verified upstream waits for approval here"),
    }


def pipeline(
    warehouses: Sequence[Obj],
    stages: Sequence[Obj],
    freights: Sequence[Obj],
    now: datetime.datetime,
    denied: Callable[[str, str], str],
) -> list[Obj]:
    """The columns of the page: ``{"title", "warehouses" | "stages"}``, left to right.
    ``denied(stage, action)``: why the user may not, or ""."""
    cols: list[Obj] = [
        {
            "title": "Warehouses",
            "stages": [],
            "warehouses": [
                {
                    "name": _name(w),
                    "freight": sum(1 for f in freights if _origin(f) == _name(w)),
                    "subscriptions": _subscriptions(w),
                    "error": _condition_error(w),
                }
                for w in sorted(warehouses, key=_name)
            ],
        }
    ]
    levels = depths(stages)
    for level in sorted(set(levels.values())):
        cards = [
            stage_card(s, freights, now, functools.partial(denied, _name(s)))
            for s in sorted(stages, key=_name)
            if levels[_name(s)] == level
        ]
        cols.append({"title": f"Stages ({level})", "stages": cards, "warehouses": []})
    return cols


def _created(freight: Mapping[str, Any]) -> str:
    return str((freight.get("metadata") or {}).get("creationTimestamp") or "")


def _subscriptions(warehouse: Mapping[str, Any]) -> list[str]:
    """Each subscription's repository URL (whatever its kind: image, git or chart)."""
    out = []
    for sub in (warehouse.get("spec") or {}).get("subscriptions") or ():
        for body in sub.values() if isinstance(sub, dict) else ():
            if isinstance(body, dict) and body.get("repoURL"):
                out.append(str(body["repoURL"]))
    return out


def _origin(freight: Mapping[str, Any]) -> str:
    return str((freight.get("origin") or {}).get("name") or "")


def _condition_error(obj: Mapping[str, Any]) -> str:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready" and cond.get("status") == "False":
            return str(cond.get("message") or cond.get("reason") or "not ready")
    return ""


def recent_promotions(promotions: Sequence[Obj], limit: int = 10) -> list[Obj]:
    """The newest promotions first, as the table under the pipeline shows them."""
    rows = []
    for p in promotions:
        status = p.get("status") or {}
        spec = p.get("spec") or {}
        rows.append(
            {
                "name": _name(p),
                "stage": str(spec.get("stage") or ""),
                "freight": str(spec.get("freight") or "")[:12],
                "phase": str(status.get("phase") or "Pending"),
                "message": str(status.get("message") or ""),
                "actor": str(
                    ((p.get("metadata") or {}).get("annotations") or {}).get(
                        promotions_mod.ACTOR_ANNOTATION
                    )
                    or ""
                ),
                "created": str((p.get("metadata") or {}).get("creationTimestamp") or ""),
            }
        )
    rows.sort(key=lambda r: (r["created"], r["name"]), reverse=True)
    return rows[:limit]
