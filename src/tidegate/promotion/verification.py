"""Verifying the Freight a Stage holds with AnalysisRuns (I/O; Argo Rollouts' analysis model).

After a successful promotion, a Stage with ``verification.analysisTemplates`` gets one
AnalysisRun built from those templates (AnalysisTemplates of the project, or
ClusterAnalysisTemplates) and ``verification.args``, labelled with the Stage and the Freight.
The analysis controller of the management cluster measures it; its phase is copied into the
Stage's ``freightHistory[0].verificationHistory``, and ``Successful`` marks the Freight
``verifiedIn`` the Stage (the gate to the next Stages). ``Failed``, ``Error`` or
``Inconclusive`` leave the Freight unverified, the Stage ``Unhealthy`` with the run's message.
A template that does not exist, or one the analysis engine refuses, is an ``Errored``
verification entry naming it; nothing is created.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping
from typing import Any

from tidegate.analysis import names as analysis_names
from tidegate.analysis import runs as analysis_runs
from tidegate.kube import client as kube_client
from tidegate.model.keys import ResourceKey
from tidegate.promotion import availability

STAGE_LABEL = "kargo.akuity.io/stage"
FREIGHT_LABEL = "kargo.akuity.io/freight"
TERMINAL = ("Successful", "Failed", "Error", "Inconclusive", "Errored", "Aborted")
Obj = dict[str, Any]


def _now() -> str:
    return availability.format_time(datetime.datetime.now(datetime.UTC))


def templates_of(stage: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    verification = (stage.get("spec") or {}).get("verification") or {}
    return list(verification.get("analysisTemplates") or [])


async def start(
    kube: kube_client.KubeClient, ns: str, stage: Mapping[str, Any], freight: str
) -> Obj:
    """Create the AnalysisRun; return the verification entry to record."""
    stage_name = str(stage["metadata"]["name"])
    verification = (stage.get("spec") or {}).get("verification") or {}
    templates: list[Obj] = []
    cluster_templates: list[Obj] = []
    for ref in templates_of(stage):
        kind = str(ref.get("kind") or "AnalysisTemplate")
        name = str(ref.get("name") or "")
        namespace = ns if kind == "AnalysisTemplate" else ""
        found = await kube.get_or_none(ResourceKey("argoproj.io", kind, namespace, name))
        if found is None:
            where = f" in {ns}" if namespace else ""
            return _entry("", "Errored", f"{kind} {name!r}{where} does not exist")
        (templates if kind == "AnalysisTemplate" else cluster_templates).append(found)
    run_name = f"{stage_name}.{freight[:7]}.{secrets.token_hex(3)}"
    metadata = verification.get("analysisRunMetadata") or {}
    try:
        run = analysis_runs.new_run(
            name=run_name,
            namespace=ns,
            templates=templates,
            cluster_templates=cluster_templates,
            args=list(verification.get("args") or []),
            labels={
                **(metadata.get("labels") or {}),
                STAGE_LABEL: stage_name,
                FREIGHT_LABEL: freight,
            },
            annotations=metadata.get("annotations") or None,
        )
    except analysis_names.AnalysisSpecError as exc:
        return _entry("", "Errored", str(exc))
    await kube.create(run)
    return _entry(run_name, "Pending", "", namespace=ns)


def _entry(run: str, phase: str, message: str, *, namespace: str = "") -> Obj:
    entry: Obj = {"id": run or secrets.token_hex(4), "phase": phase, "startTime": _now()}
    if run:
        entry["analysisRun"] = {"name": run, "namespace": namespace}
    if message:
        entry["message"] = message
    if phase in TERMINAL:
        entry["finishTime"] = entry["startTime"]
    return entry


async def follow(kube: kube_client.KubeClient, entry: Mapping[str, Any]) -> Obj | None:
    """The entry updated from its AnalysisRun, or None when nothing changed."""
    ref = entry.get("analysisRun") or {}
    run = await kube.get_or_none(
        ResourceKey("argoproj.io", "AnalysisRun", str(ref.get("namespace")), str(ref.get("name")))
    )
    if run is None:
        updated = {
            **entry,
            "phase": "Error",
            "message": "the AnalysisRun was deleted",
            "finishTime": _now(),
        }
        return updated
    status = run.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    if phase == entry.get("phase"):
        return None
    updated = {**entry, "phase": phase}
    if status.get("message"):
        updated["message"] = str(status["message"])
    if phase in TERMINAL:
        updated["finishTime"] = _now()
    return updated
