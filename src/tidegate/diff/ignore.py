"""ignoreDifferences: rules that take fields out of the comparison (and, on request, the sync).

A rule matches an object by ``group`` and ``kind`` (shell-style globs, so system-level rules can
use ``*``) and, when set, exact ``name`` and ``namespace``. Its fields are named by RFC 6901
``jsonPointers``, ``jqPathExpressions``, or ``managedFieldsManagers`` (every field the listed
managers own in the live object). Application rules and system-level rules are simply combined.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tidegate.diff import jqpaths, knowntypes, managed, paths
from tidegate.model import errors, globs, keys


@dataclasses.dataclass(frozen=True)
class IgnoreRule:
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()
    # argocd-cm knownTypeFields of the kind (system level only): not ignored, but compared as
    # their built-in type (:mod:`tidegate.diff.knowntypes`)
    known_types: tuple[knowntypes.KnownTypeField, ...] = ()

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> IgnoreRule:
        """Build from the Application's camelCase ``ignoreDifferences`` entry; validates it."""
        known = {"group", "kind", "name", "namespace", "jsonPointers", "jqPathExpressions",
                 "managedFieldsManagers"}  # fmt: skip
        unknown = sorted(set(spec) - known)
        if unknown:
            raise errors.SpecError(f"ignoreDifferences entry has unknown fields {unknown}")
        rule = cls(
            group=str(spec.get("group") or ""),
            kind=str(spec.get("kind") or ""),
            name=str(spec.get("name") or ""),
            namespace=str(spec.get("namespace") or ""),
            json_pointers=tuple(str(p) for p in spec.get("jsonPointers") or ()),
            jq_path_expressions=tuple(str(p) for p in spec.get("jqPathExpressions") or ()),
            managed_fields_managers=tuple(str(p) for p in spec.get("managedFieldsManagers") or ()),
        )
        if not rule.kind:
            raise errors.SpecError("ignoreDifferences entry needs a kind")
        rule.validate()
        return rule

    def validate(self) -> None:
        globs.compile_glob(self.group)
        globs.compile_glob(self.kind)
        for pointer in self.json_pointers:
            paths.parse_pointer(pointer)
        for expression in self.jq_path_expressions:
            jqpaths.validate(expression)

    def matches(self, key: keys.ResourceKey) -> bool:
        return (
            globs.matches(self.group, key.group)
            and globs.matches(self.kind, key.kind)
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )


def rules_from_specs(specs: Iterable[Mapping[str, Any]]) -> tuple[IgnoreRule, ...]:
    return tuple(IgnoreRule.from_spec(s) for s in specs)


def matching(rules: Sequence[IgnoreRule], key: keys.ResourceKey) -> list[IgnoreRule]:
    return [r for r in rules if r.matches(key)]


JqFound = Mapping[str, Sequence[paths.Path]]
"""Paths each jq expression selected in one document, evaluated beforehand (bounded, elsewhere)."""


def jq_expressions(rules: Sequence[IgnoreRule]) -> tuple[str, ...]:
    """The distinct jq expressions of ``rules``, in order."""
    return tuple(dict.fromkeys(e for r in rules for e in r.jq_path_expressions))


def ignored_paths(
    obj: Any, rules: Sequence[IgnoreRule], jq_found: JqFound | None = None
) -> list[paths.Path]:
    """Concrete paths in ``obj`` named by the rules' JSON pointers and jq expressions.

    ``jq_found`` holds the expressions' results when they were evaluated beforehand; without it
    jq runs here, in this process.
    """
    found: list[paths.Path] = []
    for rule in rules:
        for pointer in rule.json_pointers:
            path = paths.resolve(obj, paths.parse_pointer(pointer))
            if path:
                found.append(path)
        for expression in rule.jq_path_expressions:
            if jq_found is None:
                found.extend(jqpaths.find(obj, expression))
            else:
                found.extend(jq_found.get(expression, ()))
    return found


def managers_of(rules: Sequence[IgnoreRule]) -> frozenset[str]:
    return frozenset(m for r in rules for m in r.managed_fields_managers)


def strip(
    obj: dict[str, Any] | None, rules: Sequence[IgnoreRule], jq_found: JqFound | None = None
) -> None:
    """Delete, in place, every field the rules' pointers and expressions name."""
    if obj is not None:
        paths.delete_all(obj, ignored_paths(obj, rules, jq_found))


def adopt_managed(
    target: dict[str, Any], raw_live: Mapping[str, Any], live: Mapping[str, Any],
    managers: frozenset[str],
) -> None:  # fmt: skip
    """Copy into ``target`` the values of ``live`` that ``managers`` own in ``raw_live``."""
    if not managers:
        return
    tree = managed.owned_tree(raw_live, managers)
    for path in managed.owned_paths(live, tree):
        paths.put(target, path, paths.get(live, path))


def respect_ignore_differences(
    desired: Mapping[str, Any],
    live: Mapping[str, Any] | None,
    rules: Sequence[IgnoreRule],
    *,
    jq_desired: JqFound | None = None,
    jq_live: JqFound | None = None,
) -> dict[str, Any]:
    """``desired`` with ignored fields taken from ``live`` (sync option RespectIgnoreDifferences).

    Fields named by the rules keep their live value (or stay unset if live has none), so the
    sync does not overwrite what the comparison ignores. A resource that does not exist yet is
    created from ``desired`` unchanged. ``jq_desired`` / ``jq_live``: the rules' jq results on
    each side, when evaluated beforehand.
    """
    out = copy.deepcopy(dict(desired))
    if live is None:
        return out
    key = keys.ResourceKey.of(desired)
    relevant = matching(rules, key)
    if not relevant:
        return out
    strip(out, relevant, jq_desired)
    for path in ignored_paths(live, relevant, jq_live):
        paths.put(out, path, paths.get(live, path))
    adopt_managed(out, live, live, managers_of(relevant))
    return out
