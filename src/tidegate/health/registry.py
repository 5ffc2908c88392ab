"""Which check judges which kind: the built-in table, custom checks, and ``assess``.

Custom checks (Python callables or declarative rules, see :mod:`tidegate.health.rules`) are
keyed by ``group/Kind`` (``Kind`` alone for the core group), ``*`` wildcards allowed, and take
precedence over the built-in checks. A custom check returning ``None`` defers to the built-in.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any, Final

import yaml

from tidegate.health import argo, autoscaling, batch, cluster, network, pod, rules, workloads
from tidegate.health import status as hs
from tidegate.model import constants, errors, globs
from tidegate.model.enums import HealthStatusCode

Check = Callable[[Mapping[str, Any]], "hs.HealthStatus | None"]

# Argo CD's built-in checks (gitops-engine) and the checks it ships for common kinds
# (resource_customizations), keyed by API group and kind: every version of the group is judged
# by the same check (the check reads apiVersion where versions differ, as for HPAs).
BUILTIN: Final[Mapping[tuple[str, str], Check]] = types.MappingProxyType(
    {
        ("apps", "Deployment"): workloads.deployment,
        ("apps", "StatefulSet"): workloads.statefulset,
        ("apps", "DaemonSet"): workloads.daemonset,
        ("apps", "ReplicaSet"): workloads.replicaset,
        ("", "Pod"): pod.pod,
        ("", "Service"): network.service,
        ("networking.k8s.io", "Ingress"): network.ingress,
        ("extensions", "Ingress"): network.ingress,
        ("", "PersistentVolumeClaim"): cluster.persistentvolumeclaim,
        ("apiregistration.k8s.io", "APIService"): cluster.apiservice,
        ("policy", "PodDisruptionBudget"): cluster.poddisruptionbudget,
        ("batch", "Job"): batch.job,
        ("batch", "CronJob"): batch.cronjob,
        ("autoscaling", "HorizontalPodAutoscaler"): autoscaling.hpa,
        (constants.GROUP, "Rollout"): argo.rollout,
        (constants.GROUP, "AnalysisRun"): argo.analysisrun,
        (constants.GROUP, "Workflow"): argo.workflow,
    }
)

CM_HEALTH_PREFIX: Final = "resource.customizations.health."
_HOOK_ANNOTATIONS: Final = (constants.ANNOTATION_HOOK, "helm.sh/hook")


def group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version = obj.get("apiVersion")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    kind = obj.get("kind")
    return group, kind if isinstance(kind, str) else ""


def split_group_kind(key: str) -> tuple[str, str]:
    """``group/Kind`` or ``Kind`` (core group) into ``(group, Kind)``."""
    group, _, kind = key.rpartition("/")
    if not kind:
        raise errors.ConfigError(f"health check key {key!r}: expected 'group/Kind' or 'Kind'")
    return group, kind


class HealthChecks:
    """Built-in checks plus custom ones; ``assess`` judges one object."""

    def __init__(self, *, custom: Mapping[str, Check] | None = None, builtin: bool = True) -> None:
        self._builtin: Mapping[tuple[str, str], Check] = BUILTIN if builtin else {}
        self._exact: dict[tuple[str, str], Check] = {}
        self._wildcard: list[tuple[str, str, Check]] = []
        for key, check in (custom or {}).items():
            self.register(key, check)

    def register(self, key: str, check: Check | Mapping[str, Any]) -> None:
        """Add a custom check for ``group/Kind``: a callable, or a rule set (parsed here)."""
        group, kind = split_group_kind(key)
        if isinstance(check, Mapping):
            check = rules.parse_rules(check, name=key)
        elif not callable(check):
            raise errors.ConfigError(f"health check for {key}: expected a callable or rules")
        if "*" in group or "*" in kind or "?" in group or "?" in kind:
            globs.compile_glob(group)  # a malformed pattern fails here, not at match time
            globs.compile_glob(kind)
            self._wildcard.append((group, kind, check))
        else:
            self._exact[(group, kind)] = check

    @classmethod
    def from_argocd_cm(cls, data: Mapping[str, str], *, builtin: bool = True) -> HealthChecks:
        """Custom checks from ``argocd-cm``-style keys ``resource.customizations.health.<g>_<K>``
        whose values are declarative rule sets (YAML). Lua scripts are not supported."""
        checks = cls(builtin=builtin)
        for key, value in data.items():
            if not key.startswith(CM_HEALTH_PREFIX):
                continue
            group, _, kind = key[len(CM_HEALTH_PREFIX) :].rpartition("_")
            name = f"{group}/{kind}" if group else kind
            if "hs.status" in value or "hs = {}" in value:
                raise errors.ConfigError(
                    f"{key}: Lua health scripts are not supported; write declarative rules"
                )
            try:
                parsed = yaml.load(value, Loader=yaml.CSafeLoader)
            except yaml.YAMLError as exc:
                raise errors.ConfigError(f"{key}: invalid YAML: {exc}") from None
            checks.register(name, rules.parse_rules(parsed, name=name))
        return checks

    def custom_check(self, group: str, kind: str) -> Check | None:
        found = self._exact.get((group, kind))
        if found is not None:
            return found
        for pattern_group, pattern_kind, check in self._wildcard:
            if globs.matches(pattern_group, group) and globs.matches(pattern_kind, kind):
                return check
        return None

    def has_check(self, group: str, kind: str) -> bool:
        return (group, kind) in self._builtin or self.custom_check(group, kind) is not None

    def assess(self, obj: Mapping[str, Any] | None) -> hs.HealthStatus | None:
        """The health of a live object; Missing for None; None when no check applies."""
        if obj is None:
            return hs.HealthStatus(HealthStatusCode.MISSING, "Resource does not exist")
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        if meta.get("deletionTimestamp") and not _is_hook(meta):
            return hs.progressing("Pending deletion")
        group, kind = group_kind(obj)
        custom = self.custom_check(group, kind)
        if custom is not None:
            try:
                result = custom(obj)
            except Exception as exc:  # a user's check must not break the whole assessment
                return hs.unknown(f"custom health check for {group}/{kind} failed: {exc!r}")
            if result is not None:
                return result
        builtin = self._builtin.get((group, kind))
        return builtin(obj) if builtin is not None else None


def _is_hook(meta: Mapping[str, Any]) -> bool:
    """Argo CD spares objects holding its hook finalizer; Tidegate's hooks carry no finalizer,
    so a hook annotation spares them too (a hook being deleted after its run is not pending)."""
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list) and constants.FINALIZER_HOOK in finalizers:
        return True
    annotations = meta.get("annotations")
    return isinstance(annotations, Mapping) and any(a in annotations for a in _HOOK_ANNOTATIONS)


def assess(
    obj: Mapping[str, Any] | None, *, checks: HealthChecks | None = None
) -> hs.HealthStatus | None:
    """The health of one object with ``checks`` (the built-in checks when omitted)."""
    return (checks if checks is not None else HealthChecks()).assess(obj)
