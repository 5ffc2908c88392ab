"""argocd's ``--kustomize-*``, ``--directory-include/-exclude``, ``--ignore-missing-components``
and ``--sync-retry-*`` flags of ``app create``/``app set``, applied to a spec. Pure: no I/O.

Meanings (argocd's): ``--kustomize-common-label/-annotation K=V`` add or replace an entry of
``kustomize.commonLabels``/``commonAnnotations``; ``--kustomize-replica NAME=COUNT`` adds or
replaces a ``replicas`` entry; the booleans set their field (``--no-...`` clears it to false).
``--sync-retry-limit N`` with N > 0 sets ``syncPolicy.retry`` with the backoff flags'
values or argocd's defaults (5s, 3m0s, factor 2); N < 0 is an unlimited retry; 0 removes the
retry. The backoff flags and ``--sync-retry-refresh`` change an existing retry; without one
and without ``--sync-retry-limit`` they are refused (never silently ignored).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidegate.sync.request import FlagError, parse_pairs

Obj = dict[str, Any]

DEFAULT_BACKOFF_DURATION = "5s"
DEFAULT_BACKOFF_MAX_DURATION = "3m0s"
DEFAULT_BACKOFF_FACTOR = 2


@dataclasses.dataclass(frozen=True)
class SourceExtras:
    """Source flags (None / empty: leave the field as it is)."""

    common_labels: tuple[str, ...] = ()
    common_annotations: tuple[str, ...] = ()
    force_common_labels: bool | None = None
    force_common_annotations: bool | None = None
    label_without_selector: bool | None = None
    label_include_templates: bool | None = None
    kustomize_namespace: str | None = None
    replicas: tuple[str, ...] = ()
    kube_version: str | None = None
    api_versions: tuple[str, ...] = ()
    ignore_missing_components: bool | None = None
    directory_include: str | None = None
    directory_exclude: str | None = None
    directory_disable_extension_filter: bool | None = None

    def given(self) -> bool:
        return self != SourceExtras()


@dataclasses.dataclass(frozen=True)
class RetryFlags:
    """``--sync-retry-*`` (None: not given)."""

    limit: int | None = None
    backoff_duration: str | None = None
    backoff_max_duration: str | None = None
    backoff_factor: int | None = None
    refresh: bool | None = None

    def given(self) -> bool:
        return self != RetryFlags()


def _replica(text: str) -> Obj:
    name, eq, count = text.partition("=")
    if not eq or not name.strip() or not count.strip():
        raise FlagError("--kustomize-replica", f"{text!r}: expected NAME=COUNT")
    count = count.strip()
    if not count.isdigit():
        raise FlagError("--kustomize-replica", f"{text!r}: the count must be a whole number")
    return {"name": name.strip(), "count": int(count)}


def apply_source_extras(src: Obj, flags: SourceExtras) -> None:
    """Apply the source flags to ``src`` (a ``spec.source`` or ``spec.sources[]`` entry)."""
    kustomize_fields: dict[str, Any] = {
        "forceCommonLabels": flags.force_common_labels,
        "forceCommonAnnotations": flags.force_common_annotations,
        "labelWithoutSelector": flags.label_without_selector,
        "labelIncludeTemplates": flags.label_include_templates,
        "namespace": flags.kustomize_namespace,
        "kubeVersion": flags.kube_version,
        "apiVersions": list(flags.api_versions) or None,
        "ignoreMissingComponents": flags.ignore_missing_components,
    }
    wanted = {k: v for k, v in kustomize_fields.items() if v is not None}
    labels = parse_pairs(flags.common_labels, flag="--kustomize-common-label")
    annotations = parse_pairs(flags.common_annotations, flag="--kustomize-common-annotation")
    replicas = [_replica(r) for r in flags.replicas]
    if wanted or labels or annotations or replicas:
        kustomize = src.setdefault("kustomize", {})
        kustomize.update(wanted)
        if labels:
            kustomize["commonLabels"] = {**(kustomize.get("commonLabels") or {}), **dict(labels)}
        if annotations:
            kustomize["commonAnnotations"] = {
                **(kustomize.get("commonAnnotations") or {}),
                **dict(annotations),
            }
        if replicas:
            kept = [r for r in kustomize.get("replicas") or []
                    if r.get("name") not in {n["name"] for n in replicas}]  # fmt: skip
            kustomize["replicas"] = kept + replicas
    for field, value in (("include", flags.directory_include),
                         ("exclude", flags.directory_exclude)):  # fmt: skip
        if value is not None:
            src.setdefault("directory", {})[field] = value
    if flags.directory_disable_extension_filter is not None:
        directory = src.setdefault("directory", {})
        if flags.directory_disable_extension_filter:
            directory["disableExtensionFilter"] = True
        else:
            directory.pop("disableExtensionFilter", None)  # false is the default: omitted


def apply_retry(spec: Obj, flags: RetryFlags) -> None:
    """Apply ``--sync-retry-*`` to ``spec.syncPolicy.retry``."""
    if not flags.given():
        return
    policy: Obj = dict(spec.get("syncPolicy") or {})
    retry: Obj | None = policy.get("retry")
    if flags.limit is not None:
        if flags.limit == 0:
            policy.pop("retry", None)
            retry = None
        elif flags.limit < 0:
            retry = {"limit": flags.limit}
        else:
            retry = {
                "limit": flags.limit,
                "backoff": {
                    "duration": flags.backoff_duration or DEFAULT_BACKOFF_DURATION,
                    "maxDuration": flags.backoff_max_duration or DEFAULT_BACKOFF_MAX_DURATION,
                    "factor": flags.backoff_factor or DEFAULT_BACKOFF_FACTOR,
                },
            }
    elif retry is None:
        raise FlagError(
            "--sync-retry-limit", "required with the other --sync-retry-* flags (no retry is set)"
        )
    else:
        retry = {**retry, "backoff": dict(retry.get("backoff") or {})}
        for field, value in (
            ("duration", flags.backoff_duration),
            ("maxDuration", flags.backoff_max_duration),
            ("factor", flags.backoff_factor),
        ):
            if value is not None:
                retry["backoff"][field] = value
    if retry is not None:
        if flags.refresh is not None:
            retry["refresh"] = flags.refresh
        policy["retry"] = retry
    elif flags.refresh:
        raise FlagError("--sync-retry-refresh", "needs a retry (--sync-retry-limit N)")
    if policy:
        spec["syncPolicy"] = policy
    else:
        spec.pop("syncPolicy", None)


def source_position(
    spec: Mapping[str, Any], *, position: int | None, name: str | None
) -> int | None:
    """argocd's ``--source-name``: the 1-based position of the source of that ``name`` in a
    multi-source spec (``position`` as it is when no name is given). Both, or a name that no
    source has, are usage errors."""
    if not name:
        return position
    if position is not None and position >= 1:
        raise FlagError("--source-name", "give --source-name or --source-position, not both")
    sources = list(spec.get("sources") or [])
    found = [i for i, s in enumerate(sources, start=1) if (s or {}).get("name") == name]
    if not found:
        names = ", ".join(str(s.get("name")) for s in sources if s and s.get("name")) or "none"
        raise FlagError("--source-name", f"no source is named '{name}' (names: {names})")
    return found[0]
