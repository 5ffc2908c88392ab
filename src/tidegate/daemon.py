"""What ``tidegate controller`` runs: the controllers of one Tidegate process together.

The application controller (:mod:`tidegate.controller`), the ApplicationSet controller
(:mod:`tidegate.appset`), the Rollouts controller on every registered cluster
(:mod:`tidegate.rollouts.fleet`) and the Git webhook endpoint, sharing the management client and
the repository cache. The two controllers are independent packages; this module, above both, is the
only place that knows them both.
"""

from __future__ import annotations

import asyncio
import logging

from tidegate.appset import controller as appset_controller
from tidegate.controller import engine, webhook, webhook_refresh, webhook_server
from tidegate.controller import settings as settings_mod
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.rollouts import fleet as rollouts_fleet

log = logging.getLogger("tidegate.controller")


def webhook_secrets(ctrl: engine.Controller) -> webhook.WebhookSecrets:
    """Per-provider secrets from the ``argocd-secret`` Secret, read on every delivery."""
    secret = ctrl.webhook_secret or {}
    return webhook.WebhookSecrets.from_secret(secret)


def registered_clusters(ctrl: engine.Controller) -> list[tuple[str, kube_config.ClusterConfig]]:
    """(server, connection settings) of every registered cluster that can be connected to."""
    found = []
    for cluster in ctrl.registry.clusters():
        try:
            found.append((cluster.server, cluster.require_config()))
        except errors.TidegateError:
            continue  # its registration is broken; the app controller reports why
    return found


async def follow_clusters(ctrl: engine.Controller, fleet: rollouts_fleet.Fleet) -> None:
    """Keep one Rollouts controller per registered cluster (the registry is in memory, kept
    current by the application controller's watch of cluster Secrets)."""
    await ctrl.ready.wait()
    while True:
        await fleet.sync(registered_clusters(ctrl))
        await asyncio.sleep(CLUSTER_CHECK_SECONDS)


CLUSTER_CHECK_SECONDS = 1.0


async def run(
    *,
    mgmt: kube_config.ClusterConfig,
    settings: settings_mod.Settings,
    appsets: bool = True,
    rollouts: bool = True,
    rollouts_instance_id: str = "",
    started: asyncio.Event | None = None,
) -> None:
    ctrl = engine.Controller(mgmt=mgmt, settings=settings)
    appset_ctrl = appset_controller.from_application_controller(ctrl) if appsets else None
    server = None
    refresher = webhook_refresh.WebhookRefresher(ctrl, appset_ctrl)
    tasks = [asyncio.create_task(ctrl.run(), name="application-controller")]
    if appset_ctrl is not None:
        tasks.append(asyncio.create_task(appset_ctrl.run(), name="applicationset-controller"))
    fleet = None
    if rollouts:
        fleet = rollouts_fleet.Fleet(instance_id=rollouts_instance_id)
        tasks.append(asyncio.create_task(follow_clusters(ctrl, fleet), name="rollouts"))
    try:
        if settings.webhook_port is not None:
            app = webhook_server.create_app(
                on_push=refresher.on_push,
                secrets=lambda: webhook_secrets(ctrl),
                max_body_bytes=settings.max_webhook_body_bytes,
            )
            server = await webhook_server.serve(app, settings.webhook_host, settings.webhook_port)
            log.info("webhook endpoint listening", extra={"url": server.url + "/api/webhook"})
        await ctrl.ready.wait()
        if started is not None:
            started.set()
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        if server is not None:
            await server.stop()
        await refresher.aclose()
        if fleet is not None:
            await fleet.aclose()
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("stopping %s failed", task.get_name())
