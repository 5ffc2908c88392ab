"""The installation's settings on the management cluster: ``argocd-cm`` and ``argocd-secret``.

Read once before the first refresh (retried while the cluster cannot be asked: running with the
wrong installation id would claim another installation's objects), then every 10 s. A change of
``argocd-cm``'s data is parsed (:mod:`.argocdcm`) and handed to ``on_change``; ``argocd-secret``
is kept as read, for the webhook endpoint, which reads its secrets on every delivery.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tidegate.controller import argocdcm
from tidegate.kube import client as kube_client
from tidegate.kube import watch as kube_watch
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger("tidegate.controller")

POLL_SECONDS = 10.0


class SystemConfig:
    def __init__(
        self,
        *,
        mgmt: kube_client.KubeClient,
        namespace: str,
        on_change: Callable[[argocdcm.SystemSettings], None],
    ) -> None:
        self.mgmt = mgmt
        self._secret_key = ResourceKey("", "Secret", namespace, constants.ARGOCD_SECRET_NAME)
        self._cm_key = ResourceKey("", "ConfigMap", namespace, argocdcm.CONFIGMAP_NAME)
        self._on_change = on_change
        self.webhook_secret: dict[str, Any] | None = None

    async def read(self, seen: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """Read both; apply the ConfigMap when its data is not ``seen``. Returns the data read
        (:class:`~tidegate.model.errors.KubeError` when the cluster cannot be asked)."""
        self.webhook_secret = await self.mgmt.get_or_none(self._secret_key)
        cm = await self.mgmt.get_or_none(self._cm_key)
        data: Mapping[str, Any] = (cm or {}).get("data") or {}
        if data != seen:
            system = argocdcm.parse(data)
            for problem in system.problems:
                log.warning("%s", problem)
            self._on_change(system)
        return data

    async def initial(self) -> Mapping[str, Any]:
        """The first read, retried until the cluster answers."""
        backoff = kube_watch.Backoff()
        while True:
            try:
                return await self.read(None)
            except errors.KubeError as exc:
                log.warning(
                    "management cluster: reading %s: %s; retrying", argocdcm.CONFIGMAP_NAME, exc
                )
                await asyncio.sleep(backoff.next())

    async def poll(self, seen: Mapping[str, Any]) -> None:
        """Re-read every 10 s, until cancelled (a failed read keeps the settings in force)."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                seen = await self.read(seen)
            except errors.KubeError as exc:
                log.warning(
                    "management cluster: reading %s: %s; the settings read before stay in force",
                    argocdcm.CONFIGMAP_NAME,
                    exc,
                )
