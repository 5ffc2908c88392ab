"""Which Freight a Stage may take, and what auto-promotion picks (pure).

A Freight is available to a Stage when its origin is one the Stage requests and either the
request is ``direct``, or the Freight is verified in the upstream ``stages`` (one of them, or
all with ``availabilityStrategy: All``) for at least ``requiredSoakTime``, or it was approved
for this Stage by hand (``status.approvedFor``). Auto-promotion takes the newest available
Freight (``selectionPolicy: NewestFreight``, the default) or the one in the upstream Stage
(``MatchUpstream``), and never re-promotes what the Stage already has.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidegate.model import durations

Obj = Mapping[str, Any]


def parse_time(text: object) -> datetime.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def format_time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Request:
    warehouse: str
    direct: bool
    upstreams: tuple[str, ...]
    soak_seconds: float
    all_upstreams: bool
    match_upstream: bool


def requests(stage: Obj) -> list[Request]:
    """The Stage's ``requestedFreight`` entries (each needs a Warehouse origin)."""
    out = []
    for entry in (stage.get("spec") or {}).get("requestedFreight") or ():
        origin = entry.get("origin") or {}
        sources = entry.get("sources") or {}
        soak = sources.get("requiredSoakTime")
        out.append(
            Request(
                warehouse=str(origin.get("name") or ""),
                direct=bool(sources.get("direct")),
                upstreams=tuple(str(s) for s in sources.get("stages") or ()),
                soak_seconds=durations.parse(str(soak)) if soak else 0.0,
                all_upstreams=sources.get("availabilityStrategy") == "All",
                match_upstream=(sources.get("autoPromotionOptions") or {}).get("selectionPolicy")
                == "MatchUpstream",
            )
        )
    return out


def _origin(freight: Obj) -> str:
    return str((freight.get("origin") or {}).get("name") or "")


def verified_for(freight: Obj, stage: str, soak: float, now: datetime.datetime) -> bool:
    entry = ((freight.get("status") or {}).get("verifiedIn") or {}).get(stage)
    if entry is None:
        return False
    if soak <= 0:
        return True
    verified_at = parse_time(entry.get("verifiedAt"))
    longest = durations.parse(str(entry["longestSoak"])) if entry.get("longestSoak") else 0.0
    # Soaking counts while the Freight stays in the upstream Stage (Kargo's longestSoak).
    current = (freight.get("status") or {}).get("currentlyIn") or {}
    since = parse_time((current.get(stage) or {}).get("since")) or verified_at
    running = (now - since).total_seconds() if since and stage in current else 0.0
    return max(longest, running) >= soak


def approved_for(freight: Obj, stage: str) -> bool:
    return stage in ((freight.get("status") or {}).get("approvedFor") or {})


def why_unavailable(
    freight: Obj, stage_name: str, reqs: Sequence[Request], now: datetime.datetime
) -> str | None:
    """None if ``freight`` is available to the Stage, else the reason (for messages)."""
    req = next((r for r in reqs if r.warehouse == _origin(freight)), None)
    if req is None:
        return f"the Stage does not request Freight from Warehouse {_origin(freight)!r}"
    if req.direct or approved_for(freight, stage_name):
        return None
    if not req.upstreams:
        return "the Stage takes no Freight directly and names no upstream Stage"
    checks = [verified_for(freight, up, req.soak_seconds, now) for up in req.upstreams]
    if all(checks) if req.all_upstreams else any(checks):
        return None
    ups = ", ".join(req.upstreams)
    soak = f" for {req.soak_seconds:g}s" if req.soak_seconds else ""
    return f"not verified{soak} in upstream Stage(s) {ups}, and not approved for {stage_name}"


def available(
    freights: Sequence[Obj], stage_name: str, stage: Obj, now: datetime.datetime
) -> list[Obj]:
    """Freight available to the Stage, newest first."""
    reqs = requests(stage)
    ok = [f for f in freights if why_unavailable(f, stage_name, reqs, now) is None]
    return sorted(ok, key=_created, reverse=True)


def _created(freight: Obj) -> str:
    return str((freight.get("metadata") or {}).get("creationTimestamp") or "")


def current_freight(stage: Obj) -> dict[str, str]:
    """Warehouse name -> Freight name the Stage holds now (its newest freightHistory entry)."""
    history = (stage.get("status") or {}).get("freightHistory") or []
    if not history:
        return {}
    items = history[0].get("items") or {}
    return {
        str((v.get("origin") or {}).get("name") or k.split("/")[-1]): str(v.get("name") or "")
        for k, v in items.items()
    }


def auto_pick(
    freights: Sequence[Obj], stage_name: str, stage: Obj, now: datetime.datetime,
    upstream_current: Mapping[str, Mapping[str, str]] | None = None,
) -> Obj | None:  # fmt: skip
    """The Freight auto-promotion would promote now, or None (nothing new).

    Only Freight newer than what the Stage holds, and never one the Stage held before: after a
    rollback (a manual promotion of older Freight) auto-promotion does not undo it. Nor the
    Freight whose promotion to this Stage was the last one and failed: a broken build is not
    promoted again and again (a person may still promote it by hand).
    """
    current = current_freight(stage)
    seen = held_before(stage) | last_failed(stage)
    by_name = {str(f["metadata"]["name"]): f for f in freights}
    for req in requests(stage):
        pool = [
            f for f in available(freights, stage_name, stage, now) if _origin(f) == req.warehouse
        ]
        if req.match_upstream and req.upstreams:
            wanted = (upstream_current or {}).get(req.upstreams[0], {}).get(req.warehouse)
            pool = [f for f in pool if f["metadata"]["name"] == wanted]
        held = by_name.get(current.get(req.warehouse, ""))
        for candidate in pool:
            name = str(candidate["metadata"]["name"])
            if name in seen:
                continue
            if (
                held is not None
                and not req.match_upstream
                and _created(candidate) <= _created(held)
            ):
                continue
            return candidate
    return None


def last_failed(stage: Obj) -> set[str]:
    """The Freight of the Stage's last promotion when that promotion did not succeed."""
    last = (stage.get("status") or {}).get("lastPromotion") or {}
    phase = (last.get("status") or {}).get("phase")
    name = str((last.get("freight") or {}).get("name") or "")
    return {name} if name and phase in ("Failed", "Errored", "Aborted") else set()


def held_before(stage: Obj) -> set[str]:
    """Names of every Freight in the Stage's history (current included)."""
    names = set()
    for entry in (stage.get("status") or {}).get("freightHistory") or ():
        for item in (entry.get("items") or {}).values():
            names.add(str(item.get("name") or ""))
    return names
