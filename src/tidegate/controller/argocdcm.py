"""System-level settings from the ``argocd-cm`` ConfigMap, as Argo CD documents them (pure).

- resource customizations per ``group/Kind`` (:mod:`tidegate.model.overrides`: the
  ``resource.customizations.<type>.<group>_<Kind>`` keys and the older
  ``resource.customizations`` map):
  - ``ignoreDifferences`` (and ``.all``): YAML with ``jsonPointers``, ``jqPathExpressions``,
    ``managedFieldsManagers``, applied to every app;
  - ``health``: a Lua script run sandboxed, or declarative rules (docs/health.md);
  - ``actions``: Lua action discovery and definitions (:mod:`tidegate.lua.actions`);
  - ``knownTypeFields``: embedded built-in types compared in canonical form (resource
    quantities; :mod:`tidegate.diff.knowntypes`), carried as ignore rules without fields;
- ``ignore.normalizer.jq.timeout``: how long one ``jqPathExpressions`` evaluation may run (a Go
  duration, default ``1s``); see docs/diff.md;
- ``installationID``: this installation's id, stamped on everything applied
  (``argocd.argoproj.io/installation-id``); objects with another id (or none) are not tracked.

Built in, whatever argocd-cm says (:data:`WORKLOAD_CONTROLLER_RULES`): the fields the Rollouts
controller writes on objects that come from Git (a Service's selector gets
``rollouts-pod-template-hash``, an HTTPRoute's backend weights) are not differences, as Argo CD
never sees them with client-side apply; otherwise every canary step would make the app
OutOfSync and self-heal would undo the traffic switch.

A bad entry never stops the controller: it is reported and the others still apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tidegate.diff import ignore as diff_ignore
from tidegate.diff import knowntypes as diff_knowntypes
from tidegate.health import registry as health_registry
from tidegate.lua import actions as lua_actions
from tidegate.model import durations, errors, overrides
from tidegate.rollouts import names as rollouts_names
from tidegate.sandbox import jqpool

CONFIGMAP_NAME = "argocd-cm"
INSTALLATION_ID_KEY = "installationID"
JQ_TIMEOUT_KEY = "ignore.normalizer.jq.timeout"
WORKLOAD_CONTROLLER_RULES: tuple[diff_ignore.IgnoreRule, ...] = (
    diff_ignore.IgnoreRule(kind="Service", managed_fields_managers=(rollouts_names.FIELD_MANAGER,)),
    diff_ignore.IgnoreRule(
        group="gateway.networking.k8s.io",
        kind="HTTPRoute",
        managed_fields_managers=(rollouts_names.FIELD_MANAGER,),
    ),
)


@dataclasses.dataclass(frozen=True)
class SystemSettings:
    ignore_rules: tuple[diff_ignore.IgnoreRule, ...] = WORKLOAD_CONTROLLER_RULES
    health_checks: health_registry.HealthChecks = dataclasses.field(
        default_factory=health_registry.HealthChecks
    )
    problems: tuple[str, ...] = ()
    installation_id: str = ""
    jq_timeout: float = jqpool.DEFAULT_TIMEOUT  # seconds
    actions: lua_actions.ResourceActions = dataclasses.field(
        default_factory=lua_actions.ResourceActions
    )


def parse(data: Mapping[str, str] | None) -> SystemSettings:
    data = data or {}
    found, problems = overrides.parse(data)
    rules: list[diff_ignore.IgnoreRule] = []
    for key, override in sorted(found.items()):
        group, kind = overrides.split_key(key)
        rules.extend(_known_types(group, kind, override, problems))
        if override.ignore_differences is None:
            continue
        try:
            spec = {**override.ignore_differences, "group": group, "kind": kind}
            rules.append(diff_ignore.IgnoreRule.from_spec(spec))
        except errors.TidegateError as exc:
            problems.append(f"{CONFIGMAP_NAME} {override.ignore_differences_source}: {exc}")
    checks = health_registry.HealthChecks.from_overrides(found)
    problems.extend(checks.problems)
    actions = lua_actions.ResourceActions.from_overrides(found)
    problems.extend(actions.problems)
    installation_id = str(data.get(INSTALLATION_ID_KEY) or "").strip()
    jq_timeout = _jq_timeout(data.get(JQ_TIMEOUT_KEY), problems)
    return SystemSettings(
        (*rules, *WORKLOAD_CONTROLLER_RULES),
        checks,
        tuple(problems),
        installation_id,
        jq_timeout,
        actions,
    )


def _known_types(
    group: str, kind: str, override: overrides.ResourceOverride, problems: list[str]
) -> list[diff_ignore.IgnoreRule]:
    fields: list[diff_knowntypes.KnownTypeField] = []
    for spec in override.known_type_fields:
        try:
            fields.append(diff_knowntypes.KnownTypeField.from_spec(spec))
        except errors.TidegateError as exc:
            problems.append(f"{CONFIGMAP_NAME} {override.known_type_fields_source}: {exc}")
    if not fields:
        return []
    return [diff_ignore.IgnoreRule(group=group, kind=kind, known_types=tuple(fields))]


def _jq_timeout(value: str | None, problems: list[str]) -> float:
    if value is None or not str(value).strip():
        return jqpool.DEFAULT_TIMEOUT
    try:
        seconds = durations.parse(str(value))
    except errors.TidegateError as exc:
        seconds = -1.0
        detail = str(exc)
    else:
        detail = f"{value!r} is not a positive duration"
    if seconds <= 0:
        problems.append(
            f"{CONFIGMAP_NAME} {JQ_TIMEOUT_KEY}: {detail}; using {jqpool.DEFAULT_TIMEOUT:g}s"
        )
        return jqpool.DEFAULT_TIMEOUT
    return seconds
