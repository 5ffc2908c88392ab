"""Build an AnalysisRun from AnalysisTemplates, ClusterAnalysisTemplates and args (pure).

This is what the Rollout controller calls at an analysis step, for background analysis and for
blue-green pre/post-promotion analysis, as Argo Rollouts does:

- the metrics, args, ``dryRun`` and ``measurementRetention`` of every template are merged (a
  metric name or a conflicting arg defined twice is an error);
- the caller's args (the Rollout's ``analysis.args``) override the templates' defaults; a
  caller arg with ``valueFrom.podTemplateHashValue`` (``Stable``/``Latest``) or
  ``valueFrom.fieldRef.fieldPath`` is resolved against the Rollout here, while
  ``valueFrom.secretKeyRef`` stays a reference that the analysis controller reads when it
  measures (a secret's value is never written into the run);
- every arg must end with a value or a reference, else the run cannot be built.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.analysis import names, validate

Obj = Mapping[str, Any]


# -- fieldRef against the Rollout ---------------------------------------------------------

_STEP = re.compile(r"\.?([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def field_path(obj: Obj, path: str) -> str:
    """The value at ``path`` (``metadata.labels['app']``, ``spec.template.spec.containers[0]
    .image``, ``metadata.name``) in ``obj`` as a string, as Kubernetes' fieldRef reads it."""
    cur: Any = obj
    pos = 0
    while pos < len(path):
        match = _STEP.match(path, pos)
        if match is None or match.end() == pos:
            raise names.AnalysisSpecError(f"fieldRef {path!r}: cannot parse at {path[pos:]!r}")
        pos = match.end()
        key, index, q1, q2 = match.groups()
        if index is not None:
            if not isinstance(cur, list) or int(index) >= len(cur):
                raise names.AnalysisSpecError(f"fieldRef {path!r}: index {index} out of range")
            cur = cur[int(index)]
            continue
        field = key if key is not None else (q1 if q1 is not None else q2)
        if not isinstance(cur, Mapping) or field not in cur:
            raise names.AnalysisSpecError(f"fieldRef {path!r}: field {field!r} not found")
        cur = cur[field]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, Mapping | list):
        raise names.AnalysisSpecError(f"fieldRef {path!r}: not a scalar value")
    return "" if cur is None else str(cur)


# -- args ----------------------------------------------------------------------------------


def _resolve_caller_arg(
    arg: Obj, *, rollout: Obj | None, pod_hashes: Mapping[str, str]
) -> dict[str, Any]:
    """A caller arg with its Rollout-side ``valueFrom`` replaced by a value."""
    name = str(arg.get("name") or "")
    if not name:
        raise names.AnalysisSpecError("analysis args: an arg has no name")
    value_from = arg.get("valueFrom")
    if not value_from:
        return {"name": name, "value": _text(arg.get("value"))}
    if "podTemplateHashValue" in value_from:
        which = str(value_from["podTemplateHashValue"])
        if which not in ("Stable", "Latest"):
            raise names.AnalysisSpecError(
                f"analysis arg {name}: podTemplateHashValue must be Stable or Latest, not {which!r}"
            )
        if which not in pod_hashes:
            raise names.AnalysisSpecError(f"analysis arg {name}: no {which} pod template hash")
        return {"name": name, "value": pod_hashes[which]}
    if "fieldRef" in value_from:
        path = str((value_from.get("fieldRef") or {}).get("fieldPath") or "")
        if rollout is None:
            raise names.AnalysisSpecError(f"analysis arg {name}: fieldRef needs the Rollout")
        try:
            return {"name": name, "value": field_path(rollout, path)}
        except names.AnalysisSpecError as exc:
            raise names.AnalysisSpecError(f"analysis arg {name}: {exc}") from None
    if "secretKeyRef" in value_from:
        return {"name": name, "valueFrom": {"secretKeyRef": dict(value_from["secretKeyRef"])}}
    raise names.AnalysisSpecError(f"analysis arg {name}: unsupported valueFrom {dict(value_from)}")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def merge_args(template_args: Sequence[Obj], caller_args: Sequence[Obj]) -> list[dict[str, Any]]:
    """The templates' args with the caller's values applied; every arg must end resolved.

    A caller arg the templates do not declare is ignored, as Argo Rollouts does.
    """
    merged: list[dict[str, Any]] = [copy.deepcopy(dict(a)) for a in template_args]
    by_name = {a["name"]: a for a in merged}
    for arg in caller_args:
        target = by_name.get(arg["name"])
        if target is None or (arg.get("value") is None and not arg.get("valueFrom")):
            continue
        target.pop("value", None)
        target.pop("valueFrom", None)
        if arg.get("value") is not None:
            target["value"] = arg["value"]
        if arg.get("valueFrom"):
            target["valueFrom"] = copy.deepcopy(dict(arg["valueFrom"]))
    for arg in merged:
        if arg.get("value") is None and not arg.get("valueFrom"):
            raise names.AnalysisSpecError(f"args.{arg['name']} was not resolved")
        if arg.get("value") is not None and arg.get("valueFrom"):
            raise names.AnalysisSpecError(f"arg {arg['name']} has both value and valueFrom")
    return merged


def _merge_template_args(templates: Sequence[Obj]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for template in templates:
        for arg in (template.get("spec") or {}).get("args") or ():
            name = str(arg.get("name") or "")
            if not name:
                raise names.AnalysisSpecError(f"{names.describe(template)}: an arg has no name")
            new = copy.deepcopy(dict(arg))
            old = seen.get(name)
            if old is None or (old.get("value") is None and not old.get("valueFrom")):
                seen[name] = new
            elif (new.get("value") is not None or new.get("valueFrom")) and new != old:
                raise names.AnalysisSpecError(
                    f"{names.describe(template)}: arg {name} has a different value in "
                    "another template"
                )
    return list(seen.values())


def _merge_named(
    templates: Sequence[Obj], field: str, extra: Sequence[Obj]
) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for entry in [e for t in templates for e in (t.get("spec") or {}).get(field) or ()] + list(
        extra
    ):
        merged[str(entry.get("metricName") or "")] = copy.deepcopy(dict(entry))
    return list(merged.values())


# -- the run -------------------------------------------------------------------------------


def owner_reference(owner: Obj) -> dict[str, Any]:
    """A controller ownerReference to ``owner`` (the Rollout of a run, the run of a Job), so
    the owned object is deleted with it."""
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": str(owner.get("apiVersion") or names.API_VERSION),
        "kind": str(owner.get("kind") or "Rollout"),
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def run_name(rollout: str, pod_hash: str, revision: str | int, suffix: str | int | None) -> str:
    """Argo Rollouts' run names: ``<rollout>-<hash>-<revision>[-<step index>|-pre|-post]``."""
    base = f"{rollout}-{pod_hash}-{revision}"
    return base if suffix is None or suffix == "" else f"{base}-{suffix}"


def run_labels(pod_hash: str, rollout_type: str, step_index: int | None = None) -> dict[str, str]:
    labels = {names.LABEL_POD_HASH: pod_hash, names.LABEL_ROLLOUT_TYPE: rollout_type}
    if step_index is not None:
        labels[names.LABEL_STEP_INDEX] = str(step_index)
    return labels


def new_run(
    *,
    name: str,
    namespace: str,
    templates: Sequence[Obj] = (),
    cluster_templates: Sequence[Obj] = (),
    args: Sequence[Obj] = (),
    rollout: Obj | None = None,
    pod_hashes: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    owner: Obj | None = None,
    dry_run: Sequence[Obj] = (),
    measurement_retention: Sequence[Obj] = (),
) -> dict[str, Any]:
    """The AnalysisRun object to create (no status: the analysis controller writes it).

    ``templates``/``cluster_templates`` are the template objects as read from the cluster;
    ``args`` the caller's args (Rollout ``analysis.args``), resolved against ``rollout`` and
    ``pod_hashes`` (``{"Stable": hash, "Latest": hash}``); ``owner`` (usually the Rollout) is the
    controller owner of the run. Raises :class:`names.AnalysisSpecError` naming the cause.
    """
    every = [*templates, *cluster_templates]
    if not every:
        raise names.AnalysisSpecError(f"AnalysisRun {namespace}/{name}: no analysis template")
    metrics: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for template in every:
        for metric in (template.get("spec") or {}).get("metrics") or ():
            metric_name = str(metric.get("name") or "")
            if metric_name in seen:
                raise names.AnalysisSpecError(
                    f"{names.describe(template)}: metric {metric_name!r} is also defined in "
                    f"{seen[metric_name]}"
                )
            seen[metric_name] = names.describe(template)
            metrics.append(copy.deepcopy(dict(metric)))
    resolved = [_resolve_caller_arg(a, rollout=rollout, pod_hashes=pod_hashes or {}) for a in args]
    try:
        merged_args = merge_args(_merge_template_args(every), resolved)
    except names.AnalysisSpecError as exc:
        raise names.AnalysisSpecError(f"AnalysisRun {namespace}/{name}: {exc}") from None
    found = validate.problems(metrics)
    found += [
        f"{names.describe(t)}: spec.templates (templates composed of templates) is not supported"
        for t in every
        if (t.get("spec") or {}).get("templates")
    ]
    if found:
        where = ", ".join(names.describe(t) for t in every)
        raise names.AnalysisSpecError(f"{where}: " + "; ".join(found))
    spec: dict[str, Any] = {"metrics": metrics}
    if merged_args:
        spec["args"] = merged_args
    dry = _merge_named(every, "dryRun", dry_run)
    if dry:
        spec["dryRun"] = dry
    retention = _merge_named(every, "measurementRetention", measurement_retention)
    if retention:
        spec["measurementRetention"] = retention
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    return {
        "apiVersion": names.API_VERSION,
        "kind": names.RUN_KIND,
        "metadata": metadata,
        "spec": spec,
    }


def new_run_for_rollout(
    *,
    rollout: Obj,
    block: Obj,
    templates: Sequence[Obj],
    cluster_templates: Sequence[Obj] = (),
    name: str,
    labels: Mapping[str, str],
    pod_hashes: Mapping[str, str],
) -> dict[str, Any]:
    """The run of one Rollout analysis ``block`` (its ``args``, ``dryRun``,
    ``measurementRetention`` and ``analysisRunMetadata``), owned by the Rollout."""
    extra = block.get("analysisRunMetadata") or {}
    return new_run(
        name=name,
        namespace=str((rollout.get("metadata") or {}).get("namespace") or ""),
        templates=templates,
        cluster_templates=cluster_templates,
        args=list(block.get("args") or ()),
        rollout=rollout,
        pod_hashes=pod_hashes,
        labels={**(extra.get("labels") or {}), **labels},
        annotations=extra.get("annotations") or None,
        owner=rollout,
        dry_run=list(block.get("dryRun") or ()),
        measurement_retention=list(block.get("measurementRetention") or ()),
    )
