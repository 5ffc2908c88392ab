"""The authorisation gate: ``authorize(subject, resource, action, object)``. Pure.

Every API handler and stream calls :func:`authorize` before it reads or writes anything, with
Argo CD's RBAC vocabulary (resource ``applications``, action ``get``/``create``/``update``/
``delete``/``sync``..., object ``<project>/<name>``). Today any authenticated subject is
allowed; the access-control issue replaces the body with the Casbin enforcer, without touching
a caller.
"""

from __future__ import annotations

import dataclasses

from tidegate.model import errors

RESOURCES = frozenset(
    {
        "applications",
        "applicationsets",
        "clusters",
        "repositories",
        "projects",
        "accounts",
        "certificates",
        "gpgkeys",
        "logs",
        "exec",
        "extensions",
    }
)
ACTIONS = frozenset(
    {"get", "create", "update", "delete", "sync", "override", "action", "invoke", "list"}
)


class PermissionDeniedError(errors.PermanentError):
    """The subject may not do this (HTTP 403)."""


@dataclasses.dataclass(frozen=True)
class Subject:
    """Who asks: the account name (``admin``) and the token's subject (``admin:login``)."""

    username: str
    token_subject: str


def authorize(subject: Subject | None, resource: str, action: str, obj: str) -> None:
    """Allow, or raise PermissionDeniedError naming what was refused. ``action`` may carry
    Argo CD's fine-grained suffix (``update/<group>/<kind>/<namespace>/<name>``)."""
    if resource not in RESOURCES or action.partition("/")[0] not in ACTIONS:
        raise ValueError(f"unknown RBAC resource/action {resource}/{action}")
    if subject is None or not subject.username:
        raise PermissionDeniedError(f"permission denied: {resource}, {action}, {obj}")
