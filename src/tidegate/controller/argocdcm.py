"""System-level settings from the ``argocd-cm`` ConfigMap, as Argo CD documents them (pure).

- ``resource.customizations.ignoreDifferences.<group>_<Kind>`` (and ``.all``): YAML with
  ``jsonPointers``, ``jqPathExpressions``, ``managedFieldsManagers``, applied to every app;
- ``resource.customizations.health.<group>_<Kind>``: declarative health rules (see
  docs/health.md; Lua scripts are refused with a clear error);
- ``ignore.normalizer.jq.timeout``: how long one ``jqPathExpressions`` evaluation may run (a Go
  duration, default ``1s``); see docs/diff.md;
- ``installationID``: this installation's id, stamped on everything applied
  (``argocd.argoproj.io/installation-id``); objects with another id (or none) are not tracked.

A bad entry never stops the controller: it is reported and the others still apply.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import yaml

from tidegate.diff import ignore as diff_ignore
from tidegate.health import registry as health_registry
from tidegate.model import durations, errors
from tidegate.sandbox import jqpool

CONFIGMAP_NAME = "argocd-cm"
INSTALLATION_ID_KEY = "installationID"
IGNORE_PREFIX = "resource.customizations.ignoreDifferences."
JQ_TIMEOUT_KEY = "ignore.normalizer.jq.timeout"


@dataclasses.dataclass(frozen=True)
class SystemSettings:
    ignore_rules: tuple[diff_ignore.IgnoreRule, ...] = ()
    health_checks: health_registry.HealthChecks = dataclasses.field(
        default_factory=health_registry.HealthChecks
    )
    problems: tuple[str, ...] = ()
    installation_id: str = ""
    jq_timeout: float = jqpool.DEFAULT_TIMEOUT  # seconds


def _group_kind(suffix: str) -> tuple[str, str]:
    if suffix == "all":
        return "*", "*"
    group, _, kind = suffix.rpartition("_")
    return group, kind


def parse(data: Mapping[str, str] | None) -> SystemSettings:
    data = data or {}
    rules: list[diff_ignore.IgnoreRule] = []
    problems: list[str] = []
    for key, value in sorted(data.items()):
        if not key.startswith(IGNORE_PREFIX):
            continue
        group, kind = _group_kind(key[len(IGNORE_PREFIX) :])
        try:
            parsed: Any = yaml.load(value, Loader=yaml.CSafeLoader) or {}
            if not isinstance(parsed, Mapping):
                raise errors.ConfigError("expected a mapping")
            rules.append(diff_ignore.IgnoreRule.from_spec({**parsed, "group": group, "kind": kind}))
        except (yaml.YAMLError, errors.TidegateError) as exc:
            problems.append(f"{CONFIGMAP_NAME} {key}: {exc}")
    try:
        checks = health_registry.HealthChecks.from_argocd_cm(data)
    except errors.TidegateError as exc:
        problems.append(f"{CONFIGMAP_NAME}: {exc}")
        checks = health_registry.HealthChecks()
    installation_id = str(data.get(INSTALLATION_ID_KEY) or "").strip()
    jq_timeout = _jq_timeout(data.get(JQ_TIMEOUT_KEY), problems)
    return SystemSettings(tuple(rules), checks, tuple(problems), installation_id, jq_timeout)


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
