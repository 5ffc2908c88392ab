"""Argo CD's RBAC policy, evaluated with Casbin. Pure: a :class:`Policy` is built from data.

The model is Argo CD's (request ``sub, res, act, obj``; policy ``sub, res, act, obj, eft``; one
role relation ``g``; an explicit ``deny`` anywhere wins over any allow), and the built-in policy
(``role:readonly``, ``role:admin``, ``g, admin, role:admin``) comes first, then ``policy.csv``
and the ``policy.<name>.csv`` overlays of ``argocd-rbac-cm`` in sorted key order.
``policy.matchMode`` chooses how resource, action and object patterns match: ``glob`` (the
default; ``*`` also spans ``/``) or ``regex`` (a full match).

Casbin (pycasbin) is used, rather than a hand-written matcher, because Argo CD's policy *is* a
Casbin policy: the same model text, the same effect rule and the same role-graph semantics
(transitive ``g`` lines, hierarchy limit), so a team's ``argocd-rbac-cm`` means exactly what it
meant under Argo CD.

A policy that does not parse raises :class:`PolicyError` naming the key, the line and the cause;
the caller keeps the previous policy in force.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from collections.abc import Iterable, Mapping, Sequence

import casbin

from tidegate.model import errors

MODEL = """
[request_definition]
r = sub, res, act, obj

[policy_definition]
p = sub, res, act, obj, eft

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = g(r.sub, p.sub) && patternMatch(r.res, p.res) && patternMatch(r.act, p.act) \
&& patternMatch(r.obj, p.obj)
"""

_READONLY = [
    ("applications", "get", "*/*"),
    ("applicationsets", "get", "*/*"),
    ("certificates", "get", "*"),
    ("clusters", "get", "*"),
    ("repositories", "get", "*"),
    ("write-repositories", "get", "*"),
    ("projects", "get", "*"),
    ("accounts", "get", "*"),
    ("gpgkeys", "get", "*"),
    ("logs", "get", "*/*"),
    ("promotions", "get", "*/*"),  # Tidegate's promotion pipelines (Kargo Projects)
]
_ADMIN = [
    *(
        ("applications", act, "*/*")
        for act in (
            "create",
            "update",
            "update/*",
            "delete",
            "delete/*",
            "sync",
            "rollback",
            "override",
            "action/*",
        )
    ),
    *(("applicationsets", act, "*/*") for act in ("get", "create", "update", "delete")),
    *(
        (res, act, "*")
        for res in ("certificates", "clusters", "repositories", "write-repositories", "projects")
        for act in ("create", "update", "delete")
    ),
    ("accounts", "update", "*"),
    ("gpgkeys", "create", "*"),
    ("gpgkeys", "delete", "*"),
    ("exec", "create", "*/*"),
    ("audit", "get", "*"),  # Tidegate's audit log (not in Argo CD's built-in policy)
    ("promotions", "promote", "*/*"),  # Tidegate's promotion pipelines
    ("promotions", "approve", "*/*"),
]
BUILTIN_POLICY = "\n".join(
    [
        *(f"p, role:readonly, {res}, {act}, {obj}, allow" for res, act, obj in _READONLY),
        *(f"p, role:admin, {res}, {act}, {obj}, allow" for res, act, obj in _ADMIN),
        "g, role:admin, role:readonly",
        "g, admin, role:admin",
    ]
)
_BUILTIN_WILDCARDS = frozenset(p for rule in (*_READONLY, *_ADMIN) for p in rule if "*" in p)
DEFAULT_SCOPES = ("groups",)
MATCH_MODES = ("glob", "regex")


class PolicyError(errors.ConfigError):
    """``argocd-rbac-cm`` cannot be used; the message names the key, line and cause."""


@dataclasses.dataclass(frozen=True)
class RbacConfig:
    """What ``argocd-rbac-cm`` says, parsed."""

    policy: tuple[tuple[str, ...], ...] = ()
    default_role: str = ""
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    match_mode: str = "glob"


def parse_lines(text: str, *, where: str) -> list[tuple[str, ...]]:
    """The ``p``/``g`` lines of a policy CSV; comments and blank lines are skipped."""
    rules: list[tuple[str, ...]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            fields = next(csv.reader([line], skipinitialspace=True, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise PolicyError(f"{where} line {number}: not valid CSV ({exc})") from None
        fields = [f.strip() for f in fields]
        kind = fields[0] if fields else ""
        if kind == "p":
            if len(fields) == 5:
                fields.append("allow")
            if len(fields) != 6 or not all(fields[1:5]):
                raise PolicyError(
                    f"{where} line {number}: a 'p' line needs "
                    "'p, subject, resource, action, object, allow|deny'"
                )
            if fields[5] not in ("allow", "deny"):
                raise PolicyError(
                    f"{where} line {number}: effect must be allow or deny, not {fields[5][:40]!r}"
                )
        elif kind == "g":
            if len(fields) != 3 or not all(fields[1:]):
                raise PolicyError(f"{where} line {number}: a 'g' line needs 'g, subject, role'")
        else:
            raise PolicyError(
                f"{where} line {number}: a line must start with 'p' or 'g', not {kind[:40]!r}"
            )
        rules.append(tuple(fields))
    return rules


def _scopes(text: str) -> tuple[str, ...]:
    inner = text.strip().removeprefix("[").removesuffix("]")
    found = tuple(s.strip().strip("'\"") for s in inner.split(",") if s.strip())
    return found or DEFAULT_SCOPES


def parse_config(data: Mapping[str, str]) -> RbacConfig:
    """``argocd-rbac-cm`` data → :class:`RbacConfig`; PolicyError on any bad key."""
    mode = data.get("policy.matchMode", "").strip() or "glob"
    if mode not in MATCH_MODES:
        raise PolicyError(f"argocd-rbac-cm policy.matchMode must be glob or regex, not {mode!r}")
    overlays = (k for k in data if k.startswith("policy.") and k.endswith(".csv"))
    keys = ["policy.csv", *sorted(k for k in overlays if k != "policy.csv")]
    rules: list[tuple[str, ...]] = []
    for key in keys:
        rules.extend(parse_lines(data.get(key, ""), where=f"argocd-rbac-cm {key}"))
    config = RbacConfig(
        policy=tuple(rules),
        default_role=data.get("policy.default", "").strip(),
        scopes=_scopes(data["scopes"]) if "scopes" in data else DEFAULT_SCOPES,
        match_mode=mode,
    )
    if mode == "regex":
        for rule in rules:
            for pattern in rule[2:5] if rule[0] == "p" else ():
                if pattern in _BUILTIN_WILDCARDS:
                    continue
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise PolicyError(
                        f"argocd-rbac-cm: pattern {pattern[:60]!r} is not a regex ({exc})"
                    ) from None
    return config


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    """A glob as gobwas/glob reads it without separators: ``*`` spans ``/``, ``?`` one
    character, ``[...]`` a class, ``{a,b}`` alternatives."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                body = "^" + body[1:] if body.startswith("!") else body
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + ")" * depth, re.DOTALL)
    except re.error:
        return re.compile(re.escape(pattern))


@functools.lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def glob_match(value: str, pattern: str) -> bool:
    return pattern == "*" or _glob(pattern).fullmatch(value) is not None


def regex_match(value: str, pattern: str) -> bool:
    """Regex mode. The built-in policy's wildcards (``*``, ``*/*``, ``action/*``...) keep their
    glob meaning, so ``role:admin`` and ``role:readonly`` work in both modes."""
    if pattern in _BUILTIN_WILDCARDS:
        return glob_match(value, pattern)
    return _regex(pattern).fullmatch(value) is not None


def _enforcer(match_mode: str, rules: Sequence[Sequence[str]]) -> casbin.Enforcer:
    model = casbin.Model()
    model.load_model_from_text(MODEL)
    enforcer = casbin.Enforcer(model)
    enforcer.add_function("patternMatch", regex_match if match_mode == "regex" else glob_match)
    p_rules = [list(r[1:]) for r in rules if r[0] == "p"]
    g_rules = [list(r[1:]) for r in rules if r[0] == "g"]
    if p_rules:
        enforcer.add_policies(p_rules)
    if g_rules:
        enforcer.add_grouping_policies(g_rules)
    return enforcer


class Policy:
    """An enforcer over the built-in policy plus ``config``'s lines (and extra runtime lines).

    Casbin resolves the role graph (``g`` lines, transitively) and defines the answer
    (:meth:`casbin_enforce`). Casbin re-parses its matcher expression on every call (about a
    millisecond), too slow for filtering lists of thousands of apps, so :meth:`enforce`
    evaluates the same fixed matcher directly over the ``p`` lines of the roles the subject
    reaches (other lines cannot satisfy ``g(r.sub, p.sub)``): allowed when one allow line
    matches and no deny line does. A test checks both give the same answers. Decisions are
    memoised for the life of the policy.
    """

    MAX_DECISIONS = 100_000

    def __init__(self, config: RbacConfig = RbacConfig(), extra: Iterable[Sequence[str]] = ()):
        self.config = config
        self._rules = [*parse_lines(BUILTIN_POLICY, where="built-in policy"), *config.policy]
        self._rules.extend(tuple(r) for r in extra)
        self._casbin = _enforcer(config.match_mode, self._rules)
        self._match = regex_match if config.match_mode == "regex" else glob_match
        self._subjects = {r[1] for r in self._rules}
        self._per_subject: dict[str, list[tuple[str, ...]]] = {}
        self._decisions: dict[tuple[str, str, str, str], bool] = {}

    def _lines_of(self, subject: str) -> list[tuple[str, ...]]:
        found = self._per_subject.get(subject)
        if found is None:
            reach = {subject, *self._casbin.get_implicit_roles_for_user(subject)}
            found = [r for r in self._rules if r[0] == "p" and r[1] in reach]
            self._per_subject[subject] = found
        return found

    def casbin_enforce(self, subject: str, resource: str, action: str, obj: str) -> bool:
        """Casbin's own answer (the reference :meth:`enforce` is tested against)."""
        return bool(self._casbin.enforce(subject, resource, action, obj))

    def enforce(self, subject: str, resource: str, action: str, obj: str) -> bool:
        """The answer for one subject (a deny line for it wins over its allows)."""
        key = (subject, resource, action, obj)
        decision = self._decisions.get(key)
        if decision is None:
            match = self._match
            allow = False
            for _, _, res, act, pat, eft in self._lines_of(subject):
                if match(resource, res) and match(action, act) and match(obj, pat):
                    if eft == "deny":
                        allow = False
                        break
                    allow = True
            decision = allow
            if len(self._decisions) >= self.MAX_DECISIONS:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    def allows(self, subjects: Sequence[str], resource: str, action: str, obj: str) -> bool:
        """Argo CD's claims enforcer: ``policy.default`` first, then the subject, then each of
        its groups that the policy names; any allow (without a matching deny) permits."""
        default = self.config.default_role
        if default and self.enforce(default, resource, action, obj):
            return True
        for index, subject in enumerate(subjects):
            if index > 0 and subject not in self._subjects:
                continue  # a group the policy never names cannot grant anything
            if self.enforce(subject, resource, action, obj):
                return True
        return False


BUILTIN = Policy()
