"""Compare a desired object with its live version: the verdict, both sides, and a YAML diff.

Two strategies:

- **server-side diff** (default, when ``predicted`` is given): ``predicted`` is what the API
  server returned for a server-side dry-run apply of ``desired`` with Tidegate's field manager.
  Values in it that Tidegate's manager does not own (set by mutating webhooks or other managers)
  are reset to their live values, then live and predicted are compared after normalisation.
- **fallback** (no dry-run available): the target is live merged with desired (mappings merged
  key by key, lists element by element when lengths agree, else replaced). Fields live has and
  desired does not are not counted, except those Tidegate applied before and Git dropped since
  (found in live's ``last-applied-configuration`` or Tidegate's managedFields), which the target
  removes.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from tidegate.diff import ignore, knowntypes, managed, mask, normalize, paths
from tidegate.model import constants, keys


@dataclasses.dataclass(frozen=True)
class DiffResult:
    modified: bool
    normalized_live: dict[str, Any] | None
    normalized_target: dict[str, Any] | None
    label: str = ""  # the resource, in the diff's header lines

    @functools.cached_property
    def diff_text(self) -> str:
        """The unified diff from live to target, made when first asked for: a refresh needs
        only the verdict, and dumping both sides as YAML was the largest part of comparing
        an app whose objects do not exist yet (cold sync: issue 18)."""
        if not self.modified:
            return ""
        return unified_diff(self.normalized_live, self.normalized_target, label=self.label)


@dataclasses.dataclass(frozen=True)
class Sides:
    """Both sides of one comparison, normalised, before the ignore rules are applied.

    :func:`compare` is :func:`prepare` then :func:`finish`; a caller that evaluates the rules'
    jq expressions elsewhere (bounded, batched) evaluates them on ``target`` and ``live`` in
    between.
    """

    key: keys.ResourceKey
    rules: tuple[ignore.IgnoreRule, ...]  # the rules matching ``key``
    raw_live: Mapping[str, Any] | None
    target: dict[str, Any] | None
    live: dict[str, Any] | None

    def jq_expressions(self) -> tuple[str, ...]:
        return ignore.jq_expressions(self.rules)


def compare(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    predicted: Mapping[str, Any] | None = None,
    *,
    ignore_rules: Sequence[ignore.IgnoreRule] = (),
    mask_secrets: bool = True,
    ignore_status: normalize.StatusMode = "all",
    manager: str = constants.FIELD_MANAGER,
    ignore_mutation_webhook: bool = True,
) -> DiffResult:
    """Compare ``desired`` (from Git) with ``live``; either may be None (create / prune)."""
    sides = prepare(
        desired,
        live,
        predicted,
        ignore_rules=ignore_rules,
        ignore_status=ignore_status,
        manager=manager,
        ignore_mutation_webhook=ignore_mutation_webhook,
    )
    return finish(sides, mask_secrets=mask_secrets)


def prepare(
    desired: Mapping[str, Any] | None,
    live: Mapping[str, Any] | None,
    predicted: Mapping[str, Any] | None = None,
    *,
    ignore_rules: Sequence[ignore.IgnoreRule] = (),
    ignore_status: normalize.StatusMode = "all",
    manager: str = constants.FIELD_MANAGER,
    ignore_mutation_webhook: bool = True,
) -> Sides:
    """The normalised sides of a comparison (see :func:`compare` for the arguments)."""
    ref = desired if desired is not None else live
    if ref is None:
        raise ValueError("compare needs a desired or a live object")
    key = keys.ResourceKey.of(ref)
    rules = tuple(ignore.matching(ignore_rules, key))

    norm_live = normalize.normalize(live, ignore_status=ignore_status) if live else None
    if desired is None:
        target = None
    elif live is None:
        target = normalize.normalize(predicted or desired, ignore_status=ignore_status)
    elif predicted is not None:
        target = _server_side_target(predicted, live, manager, ignore_mutation_webhook)
        target = normalize.normalize(target, ignore_status=ignore_status)
    else:
        target = _fallback_target(desired, live, manager, ignore_status)
    for rule in rules:  # argocd-cm knownTypeFields: compare embedded types in canonical form
        knowntypes.apply(target, rule.known_types)
        knowntypes.apply(norm_live, rule.known_types)
    return Sides(key, rules, live, target, norm_live)


def finish(
    sides: Sides,
    *,
    jq_target: ignore.JqFound | None = None,
    jq_live: ignore.JqFound | None = None,
    mask_secrets: bool = True,
) -> DiffResult:
    """Apply the ignore rules and masking to ``sides`` and diff them (consumes ``sides``).

    ``jq_target`` / ``jq_live``: the rules' jq results on each side when evaluated beforehand;
    when None, jq runs here.
    """
    target, norm_live, rules = sides.target, sides.live, sides.rules
    ignore.strip(target, rules, jq_target)
    ignore.strip(norm_live, rules, jq_live)
    if target is not None and norm_live is not None and sides.raw_live is not None:
        ignore.adopt_managed(target, sides.raw_live, norm_live, ignore.managers_of(rules))
    if mask_secrets:
        mask.mask_secrets(target, norm_live)

    return DiffResult(target != norm_live, norm_live, target, str(sides.key))


def _server_side_target(
    predicted: Mapping[str, Any], live: Mapping[str, Any], manager: str, drop_mutations: bool
) -> dict[str, Any]:
    if not drop_mutations:
        return dict(predicted)
    tree = managed.owned_tree(predicted, {manager})
    if not tree:
        return dict(predicted)
    if normalize.is_secret(predicted):
        tree = managed.string_data_as_data(tree)
    kept = managed.keep_owned(predicted, live, tree)
    # Identity fields are never in managedFields: keep them from the prediction.
    out: dict[str, Any] = kept if isinstance(kept, dict) else {}
    out["apiVersion"] = predicted.get("apiVersion")
    out["kind"] = predicted.get("kind")
    meta = dict(out.get("metadata") or {})
    for field in ("name", "namespace", "generateName"):
        value = (predicted.get("metadata") or {}).get(field)
        if value is not None:
            meta[field] = value
    out["metadata"] = meta
    return out


def _fallback_target(
    desired: Mapping[str, Any], live: Mapping[str, Any], manager: str,
    ignore_status: normalize.StatusMode,
) -> dict[str, Any]:  # fmt: skip
    norm_desired = normalize.normalize(desired, ignore_status=ignore_status)
    base = normalize.normalize(live, ignore_status=ignore_status)
    for path in _dropped_since_last_apply(norm_desired, live, manager):
        paths.delete(base, path)
    merged = merge(base, norm_desired)
    return merged if isinstance(merged, dict) else norm_desired


def _dropped_since_last_apply(
    desired: Mapping[str, Any], live: Mapping[str, Any], manager: str
) -> list[paths.Path]:
    """Paths Tidegate set earlier (per last-applied or managedFields) that desired lacks now."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    previous: Any = None
    if constants.ANNOTATION_LAST_APPLIED in annotations:
        try:
            previous = json.loads(annotations[constants.ANNOTATION_LAST_APPLIED])
        except (TypeError, ValueError):
            previous = None
    if isinstance(previous, Mapping):
        candidates = [p for p, _ in paths.leaves(normalize.normalize(previous))]
    else:
        tree = managed.owned_tree(live, {manager})
        candidates = list(managed.owned_paths(live, tree)) if tree else []
    dropped: set[paths.Path] = set()
    for path in candidates:
        if path[:1] == ("status",):
            continue
        # Drop the value itself (not its parent: other managers may own siblings), unless the
        # first step desired lacks is a list index: a list that changed length is replaced
        # wholesale by the merge anyway.
        for cut in range(1, len(path) + 1):
            if not paths.exists(desired, path[:cut]):
                if isinstance(path[cut - 1], str):
                    dropped.add(path)
                break
    return sorted(dropped, key=len, reverse=True)


def merge(base: Any, overlay: Any) -> Any:
    """``overlay`` applied over ``base``: mappings key by key, equal-length lists by element."""
    if isinstance(base, Mapping) and isinstance(overlay, Mapping):
        out = dict(base)
        for k, v in overlay.items():
            out[k] = merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    if isinstance(base, list) and isinstance(overlay, list) and len(base) == len(overlay):
        return [merge(b, o) for b, o in zip(base, overlay, strict=True)]
    return copy.deepcopy(overlay)


def to_yaml(obj: Mapping[str, Any] | None) -> str:
    if obj is None:
        return ""
    return yaml.safe_dump(dict(obj), sort_keys=True, default_flow_style=False)


def unified_diff(live: Mapping[str, Any] | None, target: Mapping[str, Any] | None, *,
                 label: str) -> str:  # fmt: skip
    """A unified diff from live to target YAML (``---`` live, ``+++`` target)."""
    lines = difflib.unified_diff(
        to_yaml(live).splitlines(keepends=True),
        to_yaml(target).splitlines(keepends=True),
        fromfile=f"{label} (live)",
        tofile=f"{label} (target)",
    )
    return "".join(lines)
