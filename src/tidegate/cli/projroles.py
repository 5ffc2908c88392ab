"""The role edits of ``tidegate proj role`` on a raw AppProject, with argocd's semantics, and
the views ``role get``/``list``/``list-tokens`` print. Pure: no I/O.

A role is ``spec.roles[]`` ``{name, description, policies, groups}``; its tokens are listed in
``status.jwtTokensByRole.<role>.items`` (``auth.project_roles`` reads them). As in argocd,
creating a role that exists, deleting one that does not, adding a group or policy already
there and removing one that is not there change nothing and say so (exit 0); a role that does
not exist for the other edits is a refusal (``ConfigError``, exit 1); a bad role name, action,
object or permission is a usage error (``FlagError``, exit 2). A policy added here is the line
argocd writes: ``p, proj:<project>:<role>, <resource>, <action>, <project>/<object>,
<permission>``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.auth import project_roles
from tidegate.cli import projspec
from tidegate.cli.appspec import FlagError
from tidegate.cli.projspec import Edit, Obj
from tidegate.model import errors

# argocd's rule for role names (a DNS-label-like word, underscores allowed).
_ROLE_NAME = re.compile(r"^[a-zA-Z0-9]([-_a-zA-Z0-9]*[a-zA-Z0-9])?$")
PERMISSIONS = ("allow", "deny")
ROLE_HEADERS = ("ROLE-NAME", "DESCRIPTION")
TOKEN_HEADERS = ("ID", "ISSUED AT", "EXPIRES AT")


def _roles(project: Obj) -> list[Obj]:
    spec = projspec.spec_of(project)
    roles = spec.get("roles")
    if not isinstance(roles, list):
        roles = spec["roles"] = []
    return roles


def find(project: Obj, role: str) -> Obj | None:
    return next((r for r in _roles(project) if r.get("name") == role), None)


def _existing(project: Obj, role: str) -> Obj:
    found = find(project, role)
    if found is None:
        _tidy(project)
        raise errors.ConfigError(
            f"project '{projspec.name_of(project)}': role '{role}' does not exist"
        )
    return found


def _tidy(project: Obj) -> None:
    spec = projspec.spec_of(project)
    if not spec.get("roles"):
        spec.pop("roles", None)


def check_name(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise FlagError(
            "ROLE-NAME",
            f"invalid role name '{role}': letters, digits, '-' and '_', starting and ending"
            " with a letter or digit",
        )


def create(project: Obj, role: str, *, description: str = "") -> Edit:
    check_name(role)
    if find(project, role) is not None:
        return Edit(False, f"role '{role}' already exists")
    entry: Obj = {"name": role}
    if description:
        entry["description"] = description
    _roles(project).append(entry)
    return Edit(True, f"role '{role}' created")


def delete(project: Obj, role: str) -> Edit:
    """Remove the role and its token list (a role created again later with the same name does
    not bring the old tokens back)."""
    roles = _roles(project)
    kept = [r for r in roles if r.get("name") != role]
    if len(kept) == len(roles):
        _tidy(project)
        return Edit(False, f"role '{role}' does not exist")
    projspec.spec_of(project)["roles"] = kept
    _tidy(project)
    by_role = (project.get("status") or {}).get("jwtTokensByRole")
    if isinstance(by_role, dict):
        by_role.pop(role, None)
    return Edit(True, f"role '{role}' deleted")


def policy_line(
    project: Mapping[str, Any], role: str, *, action: str, obj: str, permission: str,
    resource: str = "applications",
) -> str:  # fmt: skip
    """The policy line argocd's ``add-policy`` writes; bad flag values are ``FlagError``."""
    if permission not in PERMISSIONS:
        raise FlagError("--permission", f"'{permission}': must be 'allow' or 'deny'")
    for flag, value in (("--action", action), ("--object", obj), ("--resource", resource)):
        if not value.strip():
            raise FlagError(flag, "is required")
        if "," in value:
            raise FlagError(flag, f"'{value}' must not contain ','")
    name = projspec.name_of(project)
    subject = project_roles.role_subject(name, role)
    return f"p, {subject}, {resource}, {action}, {name}/{obj}, {permission}"


def _normal(line: str) -> str:
    return ", ".join(part.strip() for part in line.split(","))


def _add(project: Obj, role: str, field: str, value: str, what: str) -> Edit:
    """Append ``value`` to the role's ``field`` list (policies compared as normalised lines)."""
    items = _existing(project, role).setdefault(field, [])
    if any(_normal(str(item)) == _normal(value) for item in items):
        return Edit(False, f"{what} already present in role '{role}'")
    items.append(value)
    return Edit(True, f"{what} added to role '{role}'")


def _remove(project: Obj, role: str, field: str, value: str, what: str) -> Edit:
    entry = _existing(project, role)
    items = list(entry.get(field) or [])
    kept = [item for item in items if _normal(str(item)) != _normal(value)]
    if len(kept) == len(items):
        return Edit(False, f"{what} not present in role '{role}'")
    if kept:
        entry[field] = kept
    else:
        entry.pop(field, None)
    return Edit(True, f"{what} removed from role '{role}'")


def add_policy(project: Obj, role: str, line: str) -> Edit:
    return _add(project, role, "policies", line, f"policy '{line}'")


def remove_policy(project: Obj, role: str, line: str) -> Edit:
    return _remove(project, role, "policies", line, f"policy '{line}'")


def add_group(project: Obj, role: str, group: str) -> Edit:
    if not group.strip():
        raise FlagError("GROUP-CLAIM", "must not be empty")
    return _add(project, role, "groups", group, f"group '{group}'")


def remove_group(project: Obj, role: str, group: str) -> Edit:
    return _remove(project, role, "groups", group, f"group '{group}'")


# -- views -----------------------------------------------------------------------------------


def role_rows(project: Obj) -> list[tuple[str, str]]:
    return [(str(r.get("name")), str(r.get("description") or "")) for r in _roles(project)]


def _stamp(value: Any, *, unix: bool) -> str:
    if not isinstance(value, int) or value <= 0:
        return "Never" if not unix else "0"
    if unix:
        return str(value)
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_rows(project: Obj, role: str, *, unix: bool = False) -> list[tuple[str, str, str]]:
    """``ID ISSUED AT EXPIRES AT`` of the role's tokens, oldest first."""
    _existing(project, role)
    items = sorted(project_roles.token_entries(project, role), key=lambda i: int(i.get("iat") or 0))
    return [
        (str(i.get("id") or i.get("iat") or ""), _stamp(i.get("iat"), unix=unix),
         _stamp(i.get("exp"), unix=unix))
        for i in items
    ]  # fmt: skip


def describe(project: Obj, role: str) -> list[str]:
    """``role get``'s text: name, description, policies (the implicit ``projects get`` line
    first, as argocd shows it), groups, then the token table's rows."""
    entry = _existing(project, role)
    name = projspec.name_of(project)
    subject = project_roles.role_subject(name, role)
    lines = [
        f"Role Name:     {role}",
        f"Description:   {entry.get('description') or ''}",
        "Policies:",
        f"p, {subject}, projects, get, {name}, allow",
        *[str(p) for p in entry.get("policies") or []],
    ]
    groups: Sequence[str] = entry.get("groups") or []
    if groups:
        lines += ["Groups:", *[str(g) for g in groups]]
    lines.append("JWT Tokens:")
    return lines
