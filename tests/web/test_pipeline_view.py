"""The pipeline page's shaping (pure): columns by upstream depth, what each Stage could be
promoted to or have approved, and the reasons shown when a button is disabled."""

from __future__ import annotations

import datetime
from typing import Any

from tidegate.web import pipeline_view

NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.UTC)
ORIGIN = {"kind": "Warehouse", "name": "wh"}


def stage(name: str, sources: dict[str, Any], current: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {}
    if current:
        status = {
            "freightHistory": [
                {
                    "id": current,
                    "items": {"Warehouse/wh": {"name": current, "origin": ORIGIN}},
                    "verificationHistory": [{"phase": "Successful"}],
                }
            ],
            "health": {"status": "Healthy"},
            "lastPromotion": {"name": "p1", "status": {"phase": "Succeeded"}},
        }
    return {
        "metadata": {"name": name},
        "spec": {"requestedFreight": [{"origin": ORIGIN, "sources": sources}]},
        "status": status,
    }


def freight(name: str, created: str, tag: str, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "alias": f"alias-{name}",
        "origin": ORIGIN,
        "images": [{"repoURL": "reg/app", "tag": tag}],
        "status": status,
    }


STAGES = [
    stage("prod", {"stages": ["staging"]}),
    stage("dev", {"direct": True}, current="f1"),
    stage("staging", {"stages": ["dev"]}, current="f1"),
]
FREIGHT = [
    freight("f1", "2026-12-06T10:00:00Z", "1.0.0", verifiedIn={"dev": {}, "staging": {}}),
    freight("f2", "2026-12-06T11:00:00Z", "1.0.1", verifiedIn={"dev": {}}),
]


def test_columns_follow_the_upstream_chain() -> None:
    cols = pipeline_view.pipeline(
        [{"metadata": {"name": "wh"}}], STAGES, FREIGHT, NOW, lambda s, a: ""
    )
    assert [c["title"] for c in cols] == ["Warehouses", "Stages (1)", "Stages (2)", "Stages (3)"]
    assert [[s["name"] for s in c.get("stages", [])] for c in cols[1:]] == [
        ["dev"],
        ["staging"],
        ["prod"],
    ]
    assert cols[0]["warehouses"][0]["freight"] == 2


def test_stage_cards_offer_what_is_available_and_what_waits_for_approval() -> None:
    cols = pipeline_view.pipeline([], STAGES, FREIGHT, NOW, lambda s, a: "")
    dev, staging, prod = (c["stages"][0] for c in cols[1:])
    assert [f["name"] for f in dev["current"]] == ["f1"]
    assert dev["current"][0]["artifacts"] == ["app:1.0.0"]
    assert [f["name"] for f in dev["promotable"]] == ["f2"]  # held Freight is not offered
    assert dev["verification"] == "Successful" and dev["health"] == "Healthy"
    assert [f["name"] for f in staging["promotable"]] == ["f2"]  # verified in dev
    assert [f["name"] for f in staging["approvable"]] == ["f2"]  # f1 is held there already
    assert [f["name"] for f in prod["promotable"]] == ["f1"]  # verified in staging
    assert [f["name"] for f in prod["approvable"]] == ["f1"]
    assert prod["deny_approve"] == "" and prod["health"] == "NotApplicable"
    assert dev["approvable"] == [] and dev["deny_approve"]  # no upstream: nothing to approve


def test_nothing_available_disables_promote_with_the_reason() -> None:
    young = [freight("f3", "2026-12-06T11:30:00Z", "1.0.2")]
    cols = pipeline_view.pipeline([], STAGES, young, NOW, lambda s, a: "")
    prod = cols[3]["stages"][0]
    assert prod["promotable"] == [] and prod["approvable"] == []
    assert prod["deny_promote"] == "No Freight is available to this Stage"


def test_a_forbidden_action_shows_the_rule() -> None:
    def denied(stage_name: str, action: str) -> str:
        return f"no {action} on {stage_name}" if stage_name == "prod" else ""

    cols = pipeline_view.pipeline([], STAGES, FREIGHT, NOW, denied)
    prod = cols[3]["stages"][0]
    assert prod["deny_approve"] == "no approve on prod"
    assert prod["deny_promote"] == "no promote on prod"
    assert cols[1]["stages"][0]["deny_promote"] == ""
