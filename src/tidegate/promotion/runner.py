"""Running one Promotion: its steps in order, state persisted after each (I/O).

The Promotion's status carries the phase, ``currentStep``, ``stepExecutionMetadata`` (per
step: alias, start, finish, status, message) and ``state`` (each step's outputs), written after
every step so that anyone watching sees where it is. A promotion found ``Running`` after a
restart is run again from a fresh work directory: the steps are idempotent (see
:mod:`tidegate.promotion.steps`), so nothing is pushed twice.
"""

from __future__ import annotations

import datetime
import logging
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate import expr
from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.promotion import availability, builtin_steps, expressions, steps
from tidegate.promotion import freight as freight_mod
from tidegate.promotion.crds import GROUP
from tidegate.sources import gitcmd

log = logging.getLogger(__name__)


def _now() -> str:
    return availability.format_time(datetime.datetime.now(datetime.UTC))


def _alias(step: Mapping[str, Any], index: int) -> str:
    return str(step.get("as") or f"step-{index + 1}")


class Runner:
    def __init__(
        self,
        kube: kube_client.KubeClient,
        *,
        git: gitcmd.GitRunner,
        creds: Callable[[str], steps.CredsLookup],
        workroot: Path,
        helm_creds: Callable[[str], steps.CredsLookup] | None = None,
        apps_namespace: str = "argocd",
        health_timeout: float = 300.0,
    ) -> None:
        self.kube = kube
        self.git = git
        self.creds = creds
        self.helm_creds = helm_creds
        self.workroot = workroot
        self.apps_namespace = apps_namespace
        self.health_timeout = health_timeout

    async def _status(self, promo: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        meta = promo["metadata"]
        key = ResourceKey(GROUP, "Promotion", meta["namespace"], meta["name"])
        await self.kube.patch(key, {"status": status}, subresource="status")

    async def run(
        self,
        promo: Mapping[str, Any],
        freight: Mapping[str, Any],
        *,
        aborted: Callable[[], Awaitable[bool]],
    ) -> tuple[str, str, dict[str, Any]]:
        """Run the promotion; return (phase, message, state). Never raises for a step's failure."""
        meta, spec = promo["metadata"], promo.get("spec") or {}
        namespace, name, stage = meta["namespace"], meta["name"], str(spec.get("stage"))
        step_list: Sequence[Mapping[str, Any]] = spec.get("steps") or []
        started = (promo.get("status") or {}).get("startedAt") or _now()
        records: list[dict[str, Any]] = []
        state: dict[str, Any] = {}
        self.workroot.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix=f"{name[:40]}-", dir=self.workroot))
        ctx = steps.StepContext(
            project=namespace,
            stage=stage,
            promotion=name,
            workdir=workdir,
            git=self.git,
            creds=self.creds(namespace),
            kube=self.kube,
            freights=[freight],
            apps_namespace=self.apps_namespace,
            health_timeout=self.health_timeout,
            helm_creds=self.helm_creds(namespace) if self.helm_creds else None,
        )
        env: dict[str, Any] = {
            "ctx": {
                "project": namespace,
                "stage": stage,
                "promotion": name,
                "targetFreight": {
                    "name": freight["metadata"]["name"],
                    "alias": freight.get("alias", ""),
                    "origin": freight.get("origin") or {},
                },
                "meta": {
                    "promotion": {
                        "actor": meta.get("annotations", {}).get("kargo.akuity.io/create-actor", "")
                    }
                },
            },
            "outputs": state,
        }
        functions = expressions.freight_functions([freight])
        phase, message = "Succeeded", "All steps completed"
        try:
            base_vars = expressions.resolve_vars(spec.get("vars") or [], env, functions)
            await self._status(
                promo,
                {
                    "phase": "Running",
                    "startedAt": started,
                    "currentStep": 0,
                    "stepExecutionMetadata": [],
                    "message": "",
                },
            )
            for index, step in enumerate(step_list):
                if await aborted():
                    phase, message = "Aborted", f"aborted before step {index + 1}"
                    break
                alias = _alias(step, index)
                record = {"alias": alias, "startedAt": _now(), "status": "Running"}
                records.append(record)
                await self._status(promo, {"currentStep": index, "stepExecutionMetadata": records})
                step_env = {
                    **env,
                    "vars": expressions.resolve_vars(
                        step.get("vars") or [], {**env, "vars": base_vars}, functions
                    ),
                }
                if step.get("if") and not expressions.render(step["if"], step_env, functions):
                    record.update(status="Skipped", finishedAt=_now())
                    continue
                uses = str(step.get("uses"))
                try:
                    config = expressions.render(step.get("config") or {}, step_env, functions)
                    outputs = await builtin_steps.STEPS[uses](ctx, config)
                except (steps.StepError, expr.ExprError, errors.TidegateError) as exc:
                    record.update(status="Failed", finishedAt=_now(), message=str(exc))
                    if step.get("continueOnError"):
                        continue
                    phase, message = "Failed", f"step {index + 1} ({uses}) failed: {exc}"
                    break
                state[alias] = outputs
                record.update(status="Succeeded", finishedAt=_now())
        except expr.ExprError as exc:
            phase, message = "Errored", str(exc)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        final = {
            "phase": phase,
            "message": message,
            "finishedAt": _now(),
            "stepExecutionMetadata": records,
            "state": state,
        }
        await self._status(promo, final)
        log.info(
            "promotion %s/%s of freight %s to stage %s: %s",
            namespace,
            name,
            freight["metadata"]["name"],
            stage,
            phase,
        )
        return phase, message, state


def history_entry(freight: Mapping[str, Any]) -> dict[str, Any]:
    """A Stage ``freightHistory`` entry for ``freight`` (Kargo's shape)."""
    origin = freight.get("origin") or {}
    item: dict[str, Any] = {"name": freight["metadata"]["name"], "origin": origin}
    for key, getter in (
        ("commits", freight_mod.commits_of),
        ("images", freight_mod.images_of),
        ("charts", freight_mod.charts_of),
    ):
        values = getter(freight)
        if values:
            item[key] = values
    return {
        "id": freight["metadata"]["name"],
        "items": {f"{origin.get('kind', 'Warehouse')}/{origin.get('name', '')}": item},
    }
