"""What ``tidegate controller`` runs: the controllers of one Tidegate process together.

The application controller (:mod:`tidegate.controller`), the ApplicationSet controller
(:mod:`tidegate.appset`), the promotion controller (:mod:`tidegate.promotion`), the Rollouts
controller and the Sealed Secrets controller on every registered cluster (each a
:class:`tidegate.kube.fleet.Fleet` following the application controller's cluster registry) and
the Git webhook endpoint, sharing the management client and the repository cache. The
controllers are independent packages; this module, above them, is the only
place that knows them all.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Sequence
from typing import Any

import fastapi
import fastapi.responses

from tidegate.appset import controller as appset_controller
from tidegate.appset import gotemplate
from tidegate.controller import engine, webhook, webhook_refresh, webhook_server
from tidegate.controller import settings as settings_mod
from tidegate.kube import config as kube_config
from tidegate.kube import fleet as kube_fleet
from tidegate.metrics import exposition
from tidegate.model import errors
from tidegate.notify import controller as notify_controller
from tidegate.promotion import controller as promotion_controller
from tidegate.promotion import receivers
from tidegate.rollouts import fleet as rollouts_fleet
from tidegate.sealedsecrets import controller as sealed_controller
from tidegate.sealedsecrets import keystore, names

log = logging.getLogger("tidegate.controller")


def webhook_secrets(ctrl: engine.Controller) -> webhook.WebhookSecrets:
    """Per-provider secrets from the ``argocd-secret`` Secret, read on every delivery."""
    secret = ctrl.webhook_secret or {}
    return webhook.WebhookSecrets.from_secret(secret)


def mount_receivers(
    app: fastapi.FastAPI, ctrl: promotion_controller.Controller, max_body_bytes: int
) -> None:
    """Kargo-style webhook receivers (``/webhookreceiver/<hash>``) on the webhook endpoint."""

    @app.post(receivers.PATH_PREFIX + "{token}")
    async def receive(token: str, request: fastapi.Request) -> fastapi.Response:
        try:
            body = await webhook_server.read_body(
                request.headers.get("content-length"), request.stream(), limit=max_body_bytes
            )
            refreshed = await ctrl.deliver(
                receivers.PATH_PREFIX + token, dict(request.headers), body
            )
        except receivers.ReceiverError as exc:
            return fastapi.responses.JSONResponse({"error": str(exc)}, status_code=exc.status)
        except errors.WebhookError as exc:
            return fastapi.responses.JSONResponse({"error": str(exc)}, status_code=exc.status)
        return fastapi.responses.JSONResponse({"refreshed": refreshed})


def registered_clusters(ctrl: engine.Controller) -> list[tuple[str, kube_config.ClusterConfig]]:
    """(server, connection settings) of every registered cluster that can be connected to."""
    found = []
    for cluster in ctrl.registry.clusters():
        try:
            found.append((cluster.server, cluster.require_config()))
        except errors.TidegateError:
            continue  # its registration is broken; the app controller reports why
    return found


async def follow_clusters(ctrl: engine.Controller, fleets: Sequence[kube_fleet.Fleet[Any]]) -> None:
    """Keep each fleet's controller on every registered cluster (the registry is in memory, kept
    current by the application controller's watch of cluster Secrets)."""
    await ctrl.ready.wait()
    while True:
        found = registered_clusters(ctrl)
        for fleet in fleets:
            await fleet.sync(found)
        await asyncio.sleep(CLUSTER_CHECK_SECONDS)


def sealed_secrets_fleet(key_namespace: str) -> kube_fleet.Fleet[sealed_controller.Controller]:
    """One Sealed Secrets controller per cluster: its keys in ``key_namespace`` there (one made
    at once when none exists, a new one every 30 days), every namespace's SealedSecrets."""
    policy = keystore.KeyPolicy(
        namespace=key_namespace, renew_period=datetime.timedelta(days=names.KEY_RENEW_DAYS)
    )
    render = gotemplate.Templates(missingkey=gotemplate.MissingKey.ERROR).render
    return kube_fleet.Fleet(
        "sealed secrets",
        lambda binding: sealed_controller.Controller(binding.client, policy=policy, render=render),
    )


CLUSTER_CHECK_SECONDS = 1.0


def runtime_binding(ctrl: engine.Controller) -> rollouts_fleet.Bind:
    """The Rollouts controllers of a cluster read through the application controller's runtime
    of it: its client and its live cache (one watch per kind per cluster, shared)."""

    async def bind(server: str, _config: kube_config.ClusterConfig) -> rollouts_fleet.Binding:
        cluster = ctrl.registry.by_server(server)
        if cluster is None:
            raise errors.ConfigError(f"cluster {server} is no longer registered")
        rt = await ctrl.runtime(cluster)
        return rollouts_fleet.Binding(rt.client, rt.cache)

    return bind


async def run(
    *,
    mgmt: kube_config.ClusterConfig,
    settings: settings_mod.Settings,
    appsets: bool = True,
    promotions: bool = True,
    promotions_shard: str = "",
    rollouts: bool = True,
    rollouts_instance_id: str = "",
    sealed_secrets: bool = True,
    sealed_secrets_key_namespace: str = names.CONTROLLER_NAMESPACE,
    started: asyncio.Event | None = None,
    metrics_url: list[str] | None = None,
) -> None:
    """``metrics_url``, when given, receives the URL of ``/metrics`` once it is served."""
    ctrl = engine.Controller(mgmt=mgmt, settings=settings)
    appset_settings = appset_controller.Settings(metrics_labels=settings.metrics_appset_labels)
    appset_ctrl = (
        appset_controller.from_application_controller(ctrl, settings=appset_settings)
        if appsets
        else None
    )
    server = metrics_server = None
    refresher = webhook_refresh.WebhookRefresher(ctrl, appset_ctrl)
    tasks = [asyncio.create_task(ctrl.run(), name="application-controller")]
    if settings.notifications:  # fed by the controller's observer: no watch of its own
        notifier = notify_controller.Notifier(mgmt=ctrl.mgmt, namespace=settings.namespace)
        ctrl.observer.listeners.append(lambda _before, after: notifier.feed(after))
        tasks.append(asyncio.create_task(notifier.run(), name="notifications-controller"))
    if appset_ctrl is not None:
        tasks.append(asyncio.create_task(appset_ctrl.run(), name="applicationset-controller"))
    stop_promotions = asyncio.Event()
    promotion_ctrl = None
    if promotions:
        promotion_ctrl = promotion_controller.for_management(
            mgmt,
            namespace=settings.namespace,
            audit_url=settings.audit_db,
            shard=promotions_shard,
        )
        tasks.append(
            asyncio.create_task(promotion_ctrl.run(stop_promotions), name="promotion-controller")
        )
    fleets: list[kube_fleet.Fleet[Any]] = []
    if rollouts:
        fleets.append(
            rollouts_fleet.Fleet(instance_id=rollouts_instance_id, bind=runtime_binding(ctrl))
        )
    if sealed_secrets:
        fleets.append(sealed_secrets_fleet(sealed_secrets_key_namespace))
    if fleets:
        tasks.append(asyncio.create_task(follow_clusters(ctrl, fleets), name="fleets"))
    try:
        if settings.webhook_port is not None:
            app = webhook_server.create_app(
                on_push=refresher.on_push,
                secrets=lambda: webhook_secrets(ctrl),
                max_body_bytes=settings.max_webhook_body_bytes,
            )
            if promotion_ctrl is not None:
                mount_receivers(app, promotion_ctrl, settings.max_webhook_body_bytes)
            server = await webhook_server.serve(app, settings.webhook_host, settings.webhook_port)
            log.info("webhook endpoint listening", extra={"url": server.url + "/api/webhook"})
        if settings.metrics_port is not None:
            collectors = [ctrl.metrics.collect]
            if appset_ctrl is not None:
                collectors.append(appset_ctrl.metrics)
            try:
                metrics_server = await webhook_server.serve(
                    exposition.asgi_app(*collectors),
                    settings.metrics_host,
                    settings.metrics_port,
                    what="metrics endpoint",
                )
            except errors.ConfigError as exc:
                if not settings.metrics_port_optional:
                    raise
                log.warning("%s; /metrics is not served (choose one with --metrics-port)", exc)
            if metrics_server is not None and metrics_url is not None:
                metrics_url.append(metrics_server.url + "/metrics")
        await ctrl.ready.wait()
        if started is not None:
            started.set()
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for endpoint in (server, metrics_server):
            if endpoint is not None:
                await endpoint.stop()
        await refresher.aclose()
        for fleet in fleets:
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
