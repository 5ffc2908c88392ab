"""Declarative custom health checks: ordered rules over field paths, instead of Lua.

A rule set, in YAML (the value of ``resource.customizations.health.<group>_<Kind>``)::

    rules:
    - when:                                  # one matcher, or a list that must all hold
        path: status.conditions[type=Ready].status
        equals: "True"
      status: Healthy
      message: Certificate is ready          # a literal message, and/or
    - when: {path: status.conditions[type=Ready].status, equals: "False"}
      status: Degraded
      messageFrom: status.conditions[type=Ready].message   # the message read from the object
    default:                                 # optional: when no rule matches
      status: Progressing

Paths are dot-separated keys with list steps: ``[0]`` (an index), ``[type=Ready]`` (the first
entry whose field equals the value) and ``["example.com/key"]`` (a key containing dots).
Matchers (exactly one per entry): ``equals``, ``notEquals``, ``in`` (a list), ``exists``
(true/false) and ``equalsPath`` (another path of the same object). Values compare equal when
equal, or when their text is equal ignoring case (so ``equals: true`` matches ``"True"``).
The first matching rule wins; with no match and no ``default`` the built-in check (if any)
decides.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from tidegate.health import status as hs
from tidegate.model import errors
from tidegate.model.enums import HealthStatusCode

OPERATORS: Final = ("equals", "notEquals", "in", "exists", "equalsPath")
_STEP = re.compile(r'\[(?:"([^"]*)"|(\d+)|([^\]=]+)=([^\]]*))\]')
_MISSING: Final = object()

Step = str | int | tuple[str, str]  # a key, an index, or a (field, value) selector


def parse_path(path: Any) -> tuple[Step, ...]:
    """``a.b[0].c[type=Ready]["x.y/z"]`` into steps; ValueError if malformed."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("path must be a non-empty string")
    steps: list[Step] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "[":
            match = _STEP.match(path, pos)
            if match is None:
                raise ValueError(f"malformed list step at position {pos} in {path!r}")
            quoted, index, field, value = match.groups()
            if quoted is not None:
                steps.append(quoted)
            elif index is not None:
                steps.append(int(index))
            else:
                steps.append((field.strip(), value.strip()))
            pos = match.end()
        else:
            if path[pos] == "." and steps:
                pos += 1
            end = pos
            while end < len(path) and path[end] not in ".[":
                end += 1
            if end == pos:
                raise ValueError(f"empty key at position {pos} in {path!r}")
            steps.append(path[pos:end])
            pos = end
    return tuple(steps)


def resolve(obj: Any, steps: Sequence[Step]) -> Any:
    """The value at ``steps`` in ``obj``, or ``_MISSING``."""
    for step in steps:
        if isinstance(step, tuple):
            if not isinstance(obj, list):
                return _MISSING
            field, value = step
            obj = next(
                (e for e in obj if isinstance(e, Mapping) and _same(e.get(field), value)),
                _MISSING,
            )
        elif isinstance(step, int):
            if not isinstance(obj, list) or step >= len(obj):
                return _MISSING
            obj = obj[step]
        else:
            if not isinstance(obj, Mapping) or step not in obj:
                return _MISSING
            obj = obj[step]
        if obj is _MISSING:
            return _MISSING
    return obj


def _text(value: Any) -> str:
    return str(value)


def _same(actual: Any, expected: Any) -> bool:
    if actual is _MISSING or actual is None:
        return expected is None
    return bool(actual == expected) or _text(actual).lower() == _text(expected).lower()


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    path: tuple[Step, ...]
    operator: str
    operand: Any

    def holds(self, obj: Mapping[str, Any]) -> bool:
        value = resolve(obj, self.path)
        if self.operator == "exists":
            return (value is not _MISSING and value is not None) == bool(self.operand)
        if self.operator == "equals":
            return _same(value, self.operand)
        if self.operator == "notEquals":
            return not _same(value, self.operand)
        if self.operator == "in":
            return any(_same(value, option) for option in self.operand)
        other = resolve(obj, self.operand)  # equalsPath
        return value is not _MISSING and other is not _MISSING and _same(value, other)


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    status: HealthStatusCode
    message: str = ""
    message_from: tuple[Step, ...] | None = None

    def health(self, obj: Mapping[str, Any]) -> hs.HealthStatus:
        message = self.message
        if self.message_from is not None:
            found = resolve(obj, self.message_from)
            if found is not _MISSING and found is not None:
                message = _text(found)
        return hs.HealthStatus(self.status, message)


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    when: tuple[Matcher, ...]
    outcome: Outcome


@dataclasses.dataclass(frozen=True, slots=True)
class HealthRules:
    """A parsed rule set; callable like any health check."""

    rules: tuple[Rule, ...]
    default: Outcome | None = None

    def __call__(self, obj: Mapping[str, Any]) -> hs.HealthStatus | None:
        for rule in self.rules:
            if all(matcher.holds(obj) for matcher in rule.when):
                return rule.outcome.health(obj)
        return self.default.health(obj) if self.default is not None else None


class _Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


def _matcher(raw: Any, where: str) -> Matcher:
    if not isinstance(raw, Mapping):
        raise _Invalid(where, "a matcher must be a mapping with 'path' and one operator")
    unknown = sorted(set(raw) - {"path", *OPERATORS})
    if unknown:
        raise _Invalid(where, f"unknown key(s) {', '.join(unknown)} (operators: {OPERATORS})")
    operators = [op for op in OPERATORS if op in raw]
    if len(operators) != 1:
        raise _Invalid(where, f"exactly one operator is required, one of {', '.join(OPERATORS)}")
    try:
        path = parse_path(raw.get("path"))
    except ValueError as exc:
        raise _Invalid(f"{where}.path", str(exc)) from None
    op = operators[0]
    operand = raw[op]
    if op == "in" and (not isinstance(operand, list) or not operand):
        raise _Invalid(f"{where}.in", "must be a non-empty list")
    if op == "exists" and not isinstance(operand, bool):
        raise _Invalid(f"{where}.exists", "must be true or false")
    if op == "equalsPath":
        try:
            operand = parse_path(operand)
        except ValueError as exc:
            raise _Invalid(f"{where}.equalsPath", str(exc)) from None
    return Matcher(path, op, operand)


def _outcome(raw: Mapping[str, Any], where: str) -> Outcome:
    code = raw.get("status")
    try:
        status = HealthStatusCode(str(code))
    except ValueError:
        choices = ", ".join(c.value for c in HealthStatusCode)
        raise _Invalid(f"{where}.status", f"{code!r} is not one of {choices}") from None
    message = raw.get("message", "")
    if not isinstance(message, str):
        raise _Invalid(f"{where}.message", "must be a string")
    message_from = None
    if "messageFrom" in raw:
        try:
            message_from = parse_path(raw["messageFrom"])
        except ValueError as exc:
            raise _Invalid(f"{where}.messageFrom", str(exc)) from None
    return Outcome(status, message, message_from)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, Mapping):
        raise _Invalid(where, "a rule must be a mapping with 'when' and 'status'")
    unknown = sorted(set(raw) - {"when", "status", "message", "messageFrom"})
    if unknown:
        raise _Invalid(where, f"unknown key(s) {', '.join(unknown)}")
    when = raw.get("when")
    if when is None:
        raise _Invalid(f"{where}.when", "is required (use 'default' for a catch-all)")
    entries = when if isinstance(when, list) else [when]
    if not entries:
        raise _Invalid(f"{where}.when", "must not be empty")
    if isinstance(when, list):
        matchers = tuple(_matcher(m, f"{where}.when[{i}]") for i, m in enumerate(entries))
    else:
        matchers = (_matcher(when, f"{where}.when"),)
    return Rule(matchers, _outcome(raw, where))


def parse_rules(raw: Any, *, name: str) -> HealthRules:
    """Validate a rule set; :class:`ConfigError` names the set (``name``) and the field."""
    try:
        if not isinstance(raw, Mapping):
            raise _Invalid("<root>", "must be a mapping with 'rules' (and optional 'default')")
        unknown = sorted(set(raw) - {"rules", "default"})
        if unknown:
            raise _Invalid("<root>", f"unknown key(s) {', '.join(unknown)}")
        rules = raw.get("rules", [])
        if not isinstance(rules, list):
            raise _Invalid("rules", "must be a list")
        if not rules and "default" not in raw:
            raise _Invalid("rules", "at least one rule or a default is required")
        default = raw.get("default")
        if default is not None and not isinstance(default, Mapping):
            raise _Invalid("default", "must be a mapping with 'status'")
        return HealthRules(
            rules=tuple(_rule(r, f"rules[{i}]") for i, r in enumerate(rules)),
            default=_outcome(default, "default") if default is not None else None,
        )
    except _Invalid as exc:
        raise errors.ConfigError(f"health rules for {name}: {exc}") from None
