"""AppProject roles (``spec.roles``) as Argo CD reads them. Pure.

Each role ``{name, policies, groups}`` of project ``p`` gives the runtime policy lines
``p, proj:<p>:<role>, projects, get, <p>, allow``, its own ``p`` lines (only those whose
subject is the role and whose object is ``<p>/...``: a project cannot grant on another
project) and ``g, <group>, proj:<p>:<role>`` for each group. Role tokens (subject
``proj:<p>:<role>``) stand while their ``{id, iat}`` is listed in
``status.jwtTokensByRole.<role>.items`` (or the older ``spec.roles[].jwtTokens``); deleting the
entry revokes the token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.auth import rbac, tokens

log = logging.getLogger(__name__)


def role_subject(project: str, role: str) -> str:
    return f"proj:{project}:{role}"


def _roles(project: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    roles = (project.get("spec") or {}).get("roles") or []
    return [r for r in roles if isinstance(r, Mapping) and r.get("name")]


def policy_lines(project: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The runtime policy lines of one AppProject (bad lines are skipped and logged)."""
    name = str((project.get("metadata") or {}).get("name") or "")
    lines: list[tuple[str, ...]] = []
    for role in _roles(project):
        subject = role_subject(name, str(role["name"]))
        lines.append(("p", subject, "projects", "get", name, "allow"))
        text = "\n".join(str(p) for p in role.get("policies") or [])
        try:
            parsed = rbac.parse_lines(text, where=f"project {name} role {role['name']}")
        except rbac.PolicyError as exc:
            log.warning("%s (role policies ignored)", exc)
            parsed = []
        for line in parsed:
            if line[0] == "p" and line[1] == subject and line[4].startswith(f"{name}/"):
                lines.append(line)
        lines.extend(("g", str(group), subject) for group in role.get("groups") or [])
    return lines


def all_lines(projects: Iterable[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [line for project in projects for line in policy_lines(project)]


def token_entries(project: Mapping[str, Any], role: str) -> list[Mapping[str, Any]]:
    by_role = ((project.get("status") or {}).get("jwtTokensByRole") or {}).get(role) or {}
    items = list(by_role.get("items") or [])
    for r in _roles(project):
        if r["name"] == role:
            items.extend(r.get("jwtTokens") or [])
    return [i for i in items if isinstance(i, Mapping)]


def check_role_token(
    projects: Mapping[str, Mapping[str, Any]], claims: tokens.Claims
) -> str | None:
    """Why a ``proj:<p>:<role>`` token does not stand (None when it does)."""
    parts = claims.subject.split(":")
    if len(parts) != 3:
        return "malformed project role subject"
    project = projects.get(parts[1])
    if project is None or not any(r["name"] == parts[2] for r in _roles(project)):
        return "project or role not found"
    for item in token_entries(project, parts[2]):
        if int(item.get("iat") or 0) == claims.issued_at and (
            not item.get("id") or str(item.get("id")) == claims.token_id
        ):
            return None
    return "token has been revoked"
