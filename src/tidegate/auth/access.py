"""The authorisation gate: ``authorize(subject, resource, action, object)``. Pure.

Every API handler and stream calls :func:`authorize` before it reads or writes anything, with
Argo CD's RBAC vocabulary (resource ``applications``, action ``get``/``create``/``update``/
``delete``/``sync``..., object ``<project>/<name>`` or ``<project>/<namespace>/<name>``).

The policy is data the subject carries: :class:`PolicyRef` holds the server's current
:class:`tidegate.auth.rbac.Policy` (swapped when ``argocd-rbac-cm`` changes, so a long-lived
stream sees the new policy at its next item); without one the built-in policy alone applies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from tidegate.auth import rbac
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
        "write-repositories",
        "audit",
        "promotions",  # Tidegate's: Kargo Projects' pipelines, object <project>/<stage>
    }
)
ACTIONS = frozenset(
    {
        "get",
        "create",
        "update",
        "delete",
        "sync",
        "rollback",
        "override",
        "action",
        "invoke",
        "list",
        "promote",  # promotions: create a Promotion to a Stage
        "approve",  # promotions: approve Freight for a Stage
    }
)


class PermissionDeniedError(errors.PermanentError):
    """The subject may not do this (HTTP 403)."""


class PolicyRef:
    """The policy in force; the server swaps :attr:`current` when the ConfigMap changes."""

    def __init__(self, policy: rbac.Policy = rbac.BUILTIN, error: str = "") -> None:
        self.current = policy
        self.error = error  # why the last reload was refused ("" when it was not)
        self.projects: dict[str, Mapping[str, Any]] = {}  # AppProjects, for role tokens


@dataclasses.dataclass(frozen=True)
class Subject:
    """Who asks: the account name (``admin``), the token's subject (``admin:login``), the
    groups from the token's scope claims, and the policy that judges them."""

    username: str
    token_subject: str
    groups: tuple[str, ...] = ()
    policy: PolicyRef | None = None
    external: bool = False  # an identity provider's ID token (SSO): the policy names its ``sub``

    @property
    def rbac_subject(self) -> str:
        """Whom the policy names: the account, ``proj:<project>:<role>`` for a role token, or
        the ID token's ``sub`` for an SSO user (whose ``username`` is the email)."""
        if self.external or self.token_subject.startswith("proj:"):
            return self.token_subject
        return self.username


def allowed(subject: Subject | None, resource: str, action: str, obj: str) -> bool:
    if resource not in RESOURCES or action.partition("/")[0] not in ACTIONS:
        raise ValueError(f"unknown RBAC resource/action {resource}/{action}")
    if subject is None or not subject.username:
        return False
    policy = subject.policy.current if subject.policy is not None else rbac.BUILTIN
    return policy.allows((subject.rbac_subject, *subject.groups), resource, action, obj)


def authorize(subject: Subject | None, resource: str, action: str, obj: str) -> None:
    """Allow, or raise PermissionDeniedError naming what was refused. ``action`` may carry
    Argo CD's fine-grained suffix (``update/<group>/<kind>/<namespace>/<name>``)."""
    if not allowed(subject, resource, action, obj):
        raise PermissionDeniedError(f"permission denied: {resource}, {action}, {obj}")
