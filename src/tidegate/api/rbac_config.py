"""Keeps the server's RBAC policy in step with ``argocd-rbac-cm``, without a restart.

:class:`PolicyReloader` re-reads the ConfigMap of the control namespace every few seconds (a
GET of one small object; simpler and as prompt as a watch for a file people edit by hand). A
changed ConfigMap is parsed into a new :class:`tidegate.auth.rbac.Policy` and swapped into the
shared :class:`tidegate.auth.access.PolicyRef`; a ConfigMap that does not parse leaves the old
policy in force, logs the error and shows it in ``GET /api/v1/settings`` (``rbacPolicyError``)
until a good version is written. A missing ConfigMap means the built-in policy alone. The
AppProjects are listed at the same pace: their roles are the runtime policy layer, and their
token lists are what project role tokens are checked against.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from tidegate.api import appstore
from tidegate.auth import access, project_roles, rbac
from tidegate.model import errors as tg_errors
from tidegate.model.keys import ResourceKey

if TYPE_CHECKING:
    from tidegate.kube import client as kube_client

log = logging.getLogger(__name__)
CONFIGMAP = "argocd-rbac-cm"
DEFAULT_INTERVAL = 2.0


class PolicyReloader:
    def __init__(
        self,
        client: kube_client.KubeClient,
        namespace: str,
        ref: access.PolicyRef,
        *,
        interval: float = DEFAULT_INTERVAL,
    ) -> None:
        self.client = client
        self.key = ResourceKey("", "ConfigMap", namespace, CONFIGMAP)
        self.ref = ref
        self.interval = interval
        self._seen: tuple[dict[str, str], list[tuple[str, ...]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def reload(self) -> None:
        """Read the ConfigMap once and swap the policy when it changed and parses."""
        try:
            found = await self.client.get_or_none(self.key)
        except tg_errors.KubeError as exc:
            log.warning("cannot read %s: %s (policy unchanged)", CONFIGMAP, exc)
            return
        data = {str(k): str(v) for k, v in ((found or {}).get("data") or {}).items()}
        try:
            listed = await self.client.list(appstore.PROJECTS, namespace=self.key.namespace)
        except tg_errors.KubeError as exc:
            log.warning("cannot list AppProjects: %s (project roles unchanged)", exc)
            projects = self.ref.projects
        else:
            projects = {str(p["metadata"]["name"]): p for p in listed.items}
        self.ref.projects = projects
        runtime = project_roles.all_lines(projects.values())
        if (data, runtime) == self._seen:
            return
        self._seen = (data, runtime)
        try:
            policy = rbac.Policy(rbac.parse_config(data), extra=runtime)
        except rbac.PolicyError as exc:
            self.ref.error = str(exc)
            log.error("%s refused, the previous policy stays in force: %s", CONFIGMAP, exc)
            return
        self.ref.current = policy
        self.ref.error = ""
        log.info(
            "RBAC policy loaded from %s (%d lines, default role %r, match mode %s)",
            CONFIGMAP,
            len(policy.config.policy),
            policy.config.default_role,
            policy.config.match_mode,
        )

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.reload()

    async def start(self) -> None:
        await self.reload()
        self._task = asyncio.create_task(self._loop(), name="rbac-reloader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
