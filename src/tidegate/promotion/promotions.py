"""Promotion objects: built from a Stage's template, checked before they run (pure).

A Promotion copies the Stage's ``promotionTemplate.spec`` (steps, with ``task`` references
expanded from PromotionTasks) so that editing the Stage later does not change a promotion in
flight. :func:`check_steps` refuses, up front and naming the step, a step the engine does not
know, an expression outside the subset, or a reference to a task that does not exist.
"""

from __future__ import annotations

import datetime
import secrets as pysecrets
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from tidegate import expr
from tidegate.model import errors
from tidegate.promotion import expressions
from tidegate.promotion.crds import API_VERSION

STAGE_LABEL = "kargo.akuity.io/stage"
FREIGHT_LABEL = "kargo.akuity.io/freight"
ABORT_ANNOTATION = "kargo.akuity.io/abort"
ACTOR_ANNOTATION = "kargo.akuity.io/create-actor"
TERMINAL = ("Succeeded", "Failed", "Errored", "Aborted")


class PromotionError(errors.TidegateError):
    """A Stage, Promotion or PromotionTask that cannot run as written."""


def expand_tasks(
    steps: Sequence[Mapping[str, Any]], tasks: Mapping[str, Mapping[str, Any]], where: str
) -> list[dict[str, Any]]:
    """``steps`` with each ``task: {name, kind}`` replaced by the task's steps (aliases are
    prefixed with the referring step's alias, as Kargo does: ``<as>::<task step as>``)."""
    out: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        ref = step.get("task")
        if not ref:
            out.append(dict(step))
            continue
        kind = str(ref.get("kind") or "PromotionTask")
        key = f"{kind}/{ref.get('name')}"
        task = tasks.get(key)
        if task is None:
            raise PromotionError(f"{where}: step {index + 1} uses {key}, which does not exist")
        prefix = str(step.get("as") or f"task-{index + 1}")
        task_vars = {
            **{v["name"]: v.get("value") for v in (task.get("spec") or {}).get("vars") or ()},
            **{v["name"]: v.get("value") for v in step.get("vars") or ()},
        }
        for sub_index, sub in enumerate((task.get("spec") or {}).get("steps") or ()):
            copied = dict(sub)
            copied["as"] = f"{prefix}::{sub.get('as') or f'step-{sub_index + 1}'}"
            copied["vars"] = [{"name": k, "value": v} for k, v in task_vars.items()] + list(
                sub.get("vars") or ()
            )
            out.append(copied)
    return out


def check_steps(steps: Sequence[Mapping[str, Any]], known: Collection[str], where: str) -> None:
    if not steps:
        raise PromotionError(f"{where}: the promotion template has no steps")
    aliases: set[str] = set()
    for index, step in enumerate(steps):
        label = f"{where}: step {index + 1}"
        uses = str(step.get("uses") or "")
        if uses not in known:
            raise PromotionError(
                f"{label} uses {uses!r}, which Tidegate does not know (known steps: "
                f"{', '.join(sorted(known))})"
            )
        alias = str(step.get("as") or "")
        if alias:
            if alias in aliases:
                raise PromotionError(f"{label}: alias {alias!r} is used twice")
            aliases.add(alias)
        try:
            expressions.check(step.get("config") or {}, f"{label} ({uses}) config")
            expressions.check(step.get("vars") or [], f"{label} ({uses}) vars")
            if step.get("if"):
                expressions.check(str(step["if"]), f"{label} ({uses}) if")
        except expr.ExprError as exc:
            raise PromotionError(str(exc)) from None


def template_steps(
    stage: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]], known: Collection[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Stage's steps (tasks expanded, checked) and its template vars."""
    meta = stage.get("metadata") or {}
    where = f"Stage {meta.get('namespace')}/{meta.get('name')}"
    template = ((stage.get("spec") or {}).get("promotionTemplate") or {}).get("spec") or {}
    steps = expand_tasks(template.get("steps") or [], tasks, where)
    check_steps(steps, known, where)
    declared = list(template.get("vars") or [])
    try:
        expressions.check(declared, f"{where}: vars")
    except expr.ExprError as exc:
        raise PromotionError(str(exc)) from None
    return steps, declared


def new_promotion(
    *,
    namespace: str,
    stage: str,
    freight: str,
    steps: list[dict[str, Any]],
    vars_: list[dict[str, Any]],
    actor: str,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A Promotion named as Kargo names them: ``<stage>.<time-sortable id>.<freight[:7]>``."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
    ident = f"{stamp}{pysecrets.token_hex(2)}"
    return {
        "apiVersion": API_VERSION,
        "kind": "Promotion",
        "metadata": {
            "name": f"{stage}.{ident}.{freight[:7]}"[:253],
            "namespace": namespace,
            "labels": {STAGE_LABEL: stage, FREIGHT_LABEL: freight},
            "annotations": {ACTOR_ANNOTATION: actor},
        },
        "spec": {"stage": stage, "freight": freight, "vars": vars_, "steps": steps},
    }


def phase(promotion: Mapping[str, Any]) -> str:
    return str((promotion.get("status") or {}).get("phase") or "Pending")


def order_key(promotion: Mapping[str, Any]) -> tuple[str, str]:
    meta = promotion.get("metadata") or {}
    return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")
