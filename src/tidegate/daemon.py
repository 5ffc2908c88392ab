"""What ``tidegate controller`` runs: the controllers of one Tidegate process together.

The application controller (:mod:`tidegate.controller`), the ApplicationSet controller
(:mod:`tidegate.appset`), the promotion controller (:mod:`tidegate.promotion`), the Rollouts
controller and the Sealed Secrets controller on every registered cluster (each a
:class:`tidegate.kube.fleet.Fleet` following the application controller's cluster registry) and
the Git webhook endpoint, sharing the management client and the repository cache. With
several replicas (sharding on), the ApplicationSet, promotion and notifications controllers each
run in the one replica that holds their leader Lease (:mod:`tidegate.controller.leader`). The
controllers are independent packages; this module, above them, is the only
place that knows them all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Callable, Sequence
from typing import Any

import fastapi
import fastapi.responses

from tidegate.appset import controller as appset_controller
from tidegate.appset import gotemplate
from tidegate.controller import engine, leader, leases, webhook, webhook_refresh, webhook_server
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
    app: fastapi.FastAPI,
    current: Callable[[], promotion_controller.Controller | None],
    max_body_bytes: int,
) -> None:
    """Kargo-style webhook receivers (``/webhookreceiver/<hash>``) on the webhook endpoint, to
    the promotion controller running here (503 in a replica where another one leads)."""

    @app.post(receivers.PATH_PREFIX + "{token}")
    async def receive(token: str, request: fastapi.Request) -> fastapi.Response:
        ctrl = current()
        if ctrl is None:
            return fastapi.responses.JSONResponse(
                {"error": "the promotion controller runs in another controller replica"},
                status_code=503,
            )
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
CLUSTER_CONTROLLERS = "cluster-controllers"  # the leader Lease's kind: Rollouts, Sealed Secrets


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


@dataclasses.dataclass
class Terms:
    """The fleet-wide controllers of the current term (None while another replica leads)."""

    appsets: appset_controller.AppSetController | None = None
    promotions: promotion_controller.Controller | None = None
    notifier: notify_controller.Notifier | None = None


def once(
    kind: str,
    work: leader.Work,
    *,
    ctrl: engine.Controller,
    store: leases.LeaseStore | None,
) -> asyncio.Task[None]:
    """Run a fleet-wide controller: at once without sharding, else in the one replica that
    holds its leader Lease (controller/leader.py)."""
    election = ctrl.settings.sharding
    if store is None or election is None or ctrl.shards is None:
        return asyncio.create_task(work(), name=f"{kind}-controller")
    single = leader.Singleton(
        kind,
        work,
        store=store,
        namespace=ctrl.namespace,
        settings=dataclasses.replace(election, identity=ctrl.shards.leases.identity),
    )
    return asyncio.create_task(single.run(), name=f"{kind}-leader")


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
    server = metrics_server = None
    refresher = webhook_refresh.WebhookRefresher(ctrl, None)
    terms = Terms()
    # several replicas: each fleet-wide controller runs in the holder of its leader Lease
    lease_store = (
        leases.KubeLeaseStore(mgmt, settings.namespace) if settings.sharding is not None else None
    )
    tasks = [asyncio.create_task(ctrl.run(), name="application-controller")]

    async def notifications() -> None:
        notifier = notify_controller.Notifier(mgmt=ctrl.mgmt, namespace=settings.namespace)
        terms.notifier = notifier
        try:
            await ctrl.ready.wait()
            for state in ctrl.states:  # a new term: every app once (its annotation dedups)
                notifier.feed(state.raw)
            await notifier.run()
        finally:
            if terms.notifier is notifier:  # a new term may have started meanwhile
                terms.notifier = None

    async def applicationsets() -> None:
        appset_ctrl = appset_controller.from_application_controller(ctrl, settings=appset_settings)
        terms.appsets = refresher.appsets = appset_ctrl
        try:
            await appset_ctrl.run()
        finally:
            if terms.appsets is appset_ctrl:  # a new term may have started meanwhile
                terms.appsets = refresher.appsets = None

    async def promotion() -> None:
        promotion_ctrl = promotion_controller.for_management(
            mgmt,
            namespace=settings.namespace,
            audit_url=settings.audit_db,
            shard=promotions_shard,
        )
        terms.promotions = promotion_ctrl
        try:
            await promotion_ctrl.run(asyncio.Event())
        finally:
            if terms.promotions is promotion_ctrl:  # a new term may have started meanwhile
                terms.promotions = None
            await promotion_ctrl.kube.aclose()

    if settings.notifications:  # fed by the controller's observer: no watch of its own
        ctrl.observer.listeners.append(
            lambda _before, after: terms.notifier.feed(after) if terms.notifier else None
        )
        tasks.append(once("notifications", notifications, ctrl=ctrl, store=lease_store))
    if appsets:
        tasks.append(once("applicationset", applicationsets, ctrl=ctrl, store=lease_store))
    if promotions:
        tasks.append(once("promotion", promotion, ctrl=ctrl, store=lease_store))
    fleets: list[kube_fleet.Fleet[Any]] = []  # those of the current term

    async def cluster_controllers() -> None:
        """Argo Rollouts' and Sealed Secrets' controllers on every cluster: in one replica
        (a Lease of their own), as each of those projects runs one active controller."""
        term: list[kube_fleet.Fleet[Any]] = []
        if rollouts:
            term.append(
                rollouts_fleet.Fleet(instance_id=rollouts_instance_id, bind=runtime_binding(ctrl))
            )
        if sealed_secrets:
            term.append(sealed_secrets_fleet(sealed_secrets_key_namespace))
        fleets[:] = term
        try:
            await follow_clusters(ctrl, term)
        finally:
            for fleet in term:  # a lost Lease stops them before another replica starts its own
                await fleet.aclose()

    if rollouts or sealed_secrets:
        tasks.append(once(CLUSTER_CONTROLLERS, cluster_controllers, ctrl=ctrl, store=lease_store))
    try:
        if settings.webhook_port is not None:
            app = webhook_server.create_app(
                on_push=refresher.on_push,
                secrets=lambda: webhook_secrets(ctrl),
                max_body_bytes=settings.max_webhook_body_bytes,
            )
            if promotions:
                mount_receivers(app, lambda: terms.promotions, settings.max_webhook_body_bytes)
            server = await webhook_server.serve(app, settings.webhook_host, settings.webhook_port)
            log.info("webhook endpoint listening", extra={"url": server.url + "/api/webhook"})
        if settings.metrics_port is not None:
            collectors = [ctrl.metrics.collect]
            if appsets:
                collectors.append(lambda: terms.appsets.metrics() if terms.appsets else ())
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
        if lease_store is not None:
            await lease_store.aclose()
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("stopping %s failed", task.get_name())
