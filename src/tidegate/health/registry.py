"""Which check judges which kind: the built-in table, custom checks, and ``assess``.

Custom checks (Python callables, declarative rules, see :mod:`tidegate.health.rules`, or Lua
scripts, see :mod:`tidegate.health.luacheck`) are keyed by ``group/Kind`` (``Kind`` alone for
the core group), glob wildcards allowed over the whole key as Argo CD matches them, and take
precedence over the built-in checks. A custom check returning ``None`` defers to the built-in;
one returning :data:`luacheck.NO_HEALTH` leaves the object without health.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Mapping
from typing import Any, Final

import yaml

from tidegate.health import (
    argo,
    autoscaling,
    batch,
    cluster,
    luacheck,
    network,
    pod,
    rules,
    sealedsecret,
    workloads,
)
from tidegate.health import status as hs
from tidegate.lua import sandbox
from tidegate.model import constants, errors, globs, overrides
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
        ("bitnami.com", "SealedSecret"): sealedsecret.sealedsecret,
    }
)

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
        self._wildcard: list[tuple[str, Check]] = []
        self.problems: list[str] = []  # argocd-cm entries that could not be used
        for key, check in (custom or {}).items():
            self.register(key, check)

    def register(self, key: str, check: Check | Mapping[str, Any]) -> None:
        """Add a custom check for ``group/Kind``: a callable, or a rule set (parsed here)."""
        group, kind = split_group_kind(key)
        if isinstance(check, Mapping):
            check = rules.parse_rules(check, name=key)
        elif not callable(check):
            raise errors.ConfigError(f"health check for {key}: expected a callable or rules")
        if any(c in key for c in "*?[{"):
            globs.compile_glob(key)  # a bad pattern fails here, naming itself
            self._wildcard.append((key, check))
        else:
            self._exact[(group, kind)] = check

    @classmethod
    def from_argocd_cm(
        cls,
        data: Mapping[str, str],
        *,
        builtin: bool = True,
        limits: sandbox.Limits | None = None,
    ) -> HealthChecks:
        """Custom checks from ``argocd-cm``: ``resource.customizations.health.<group>_<Kind>``
        keys and ``health.lua`` in ``resource.customizations`` (see
        :mod:`tidegate.model.overrides`). A value that is a YAML map with ``rules`` or
        ``default`` is a declarative rule set; anything else is a Lua script. Problems (bad
        rules, a script that does not compile) land in ``problems``; a script that does not
        compile still judges its kind: Unknown, with the compile error."""
        found, _ = overrides.parse(data)
        return cls.from_overrides(found, builtin=builtin, limits=limits)

    @classmethod
    def from_overrides(
        cls,
        found: Mapping[str, overrides.ResourceOverride],
        *,
        builtin: bool = True,
        limits: sandbox.Limits | None = None,
    ) -> HealthChecks:
        checks = cls(builtin=builtin)
        for key, override in found.items():
            if not override.health.strip():
                continue
            source = override.health_source or key
            try:
                declarative = _declarative(override.health, name=key)
                if declarative is not None:
                    checks.register(key, rules.parse_rules(declarative, name=key))
                    continue
                lua = luacheck.LuaHealthCheck(override.health, key=source, limits=limits)
                checks.register(key, lua)
            except errors.TidegateError as exc:
                checks.problems.append(f"argocd-cm {source}: {exc}")
                continue
            if lua.problem:
                checks.problems.append(f"argocd-cm {lua.problem}")
        return checks

    def custom_check(self, group: str, kind: str) -> Check | None:
        found = self._exact.get((group, kind))
        if found is not None:
            return found
        key = f"{group}/{kind}" if group else kind
        for pattern, check in self._wildcard:
            if globs.matches(pattern, key):
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
                return hs.check_failed(f"custom health check for {group}/{kind} failed: {exc!r}")
            if result is luacheck.NO_HEALTH:
                return None
            if result is not None:
                return result
        builtin = self._builtin.get((group, kind))
        return builtin(obj) if builtin is not None else None


_DECLARATIVE: Final = re.compile(r"\A(?:\s*#[^\n]*\n)*\s*(?:rules|default)\s*:\s")


def _declarative(value: str, *, name: str) -> Mapping[str, Any] | None:
    """The rule set when ``value`` is Tidegate's declarative YAML (it starts with ``rules:``
    or ``default:``), None for a Lua script."""
    if not _DECLARATIVE.match(value):
        return None
    try:
        parsed = yaml.load(value, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise errors.ConfigError(f"health rules for {name}: invalid YAML: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise errors.ConfigError(f"health rules for {name}: expected a map")
    return parsed


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
