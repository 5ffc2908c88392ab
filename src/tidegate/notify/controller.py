"""The notifications controller: reads the config, evaluates changed apps, delivers.

It runs inside the application controller (fed by its observer: :meth:`Notifier.feed` only
records the newest copy and wakes the processor) or standalone (``tidegate
notifications-controller``: its own watch of Applications). The ConfigMap and Secret are
re-read every few seconds, AppProjects are watched (for their subscriptions).

One processor evaluates the apps that changed, one at a time; what it decides to send goes to
delivery tasks (at most ``max_in_flight`` sending at once, at most ``max_queued`` waiting;
beyond that a notification is dropped, logged and counted), so a receiver that is down or slow
never holds up the evaluation, let alone the application controller. The notified state is
written to the app's annotation right after the evaluation and remembered here, so a copy of the
app that arrives before that write is seen again does not send twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.kube import watch as kube_watch
from tidegate.metrics import families as metric_families
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.notify import config as config_mod
from tidegate.notify import evaluate, render, services, state

log = logging.getLogger("tidegate.notifications")

POLL_SECONDS = 3.0


async def read_config(
    mgmt: kube_client.KubeClient,
    namespace: str,
    *,
    config_map: str = config_mod.CONFIGMAP,
    secret: str = config_mod.SECRET,
) -> config_mod.Config:
    """The notifications config as the cluster has it now (an absent ConfigMap: the catalog
    with no services)."""
    cm = await mgmt.get_or_none(ResourceKey("", "ConfigMap", namespace, config_map))
    sec = await mgmt.get_or_none(ResourceKey("", "Secret", namespace, secret))
    return config_mod.load((cm or {}).get("data") or {}, config_mod.decode_secret(sec))


def app_key(app: Mapping[str, Any]) -> tuple[str, str]:
    meta = app.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


async def deliver(
    sender: services.Sender,
    conf: config_mod.Config,
    delivery: evaluate.Delivery,
    app: Mapping[str, Any],
    project: Mapping[str, Any] | None,
) -> None:
    """Render each template of ``delivery`` for its recipient and send it (DeliveryError or
    TemplateError on failure)."""
    service = conf.services[delivery.service]
    data = render.variables(
        app, project, conf.context, service_type=service.type, recipient=delivery.recipient
    )
    for name in delivery.templates:
        notification = render.render(name, conf.templates[name], data)
        await sender.send(service, notification, delivery.recipient)


async def _supervised(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Run ``loop`` again (after a pause) when it fails unexpectedly: a bug in the notifier
    must not stop the application controller it runs in."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("notifications: the %s loop failed; restarting it in 5 s", name)
            await asyncio.sleep(5.0)


class Notifier:
    def __init__(
        self,
        *,
        mgmt: kube_client.KubeClient,
        namespace: str,
        config_map: str = config_mod.CONFIGMAP,
        secret: str = config_mod.SECRET,
        max_in_flight: int = 32,
        max_queued: int = 2000,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.mgmt = mgmt
        self.namespace = namespace
        self._config_map, self._secret = config_map, secret
        self.config: config_mod.Config | None = None
        self._config_seen: tuple[Any, Any] | None = None
        self._pending: dict[tuple[str, str], dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._states: dict[tuple[str, str], dict[str, int]] = {}
        self._projects: dict[str, dict[str, Any]] = {}
        self._slots = asyncio.Semaphore(max_in_flight)
        self._max_queued = max_queued
        self._poll = poll_seconds
        self._deliveries: set[asyncio.Task[None]] = set()
        self._logged: set[str] = set()
        self.sender = services.Sender(scrub=self._scrub)
        self.ready = asyncio.Event()

    def _scrub(self, text: str) -> str:
        return self.config.scrub(text) if self.config is not None else text

    # -- input -------------------------------------------------------------------------------

    def feed(self, app: Mapping[str, Any]) -> None:
        """A new copy of an app (never waits)."""
        key = app_key(app)
        if key[0] != self.namespace:
            return
        self._pending[key] = dict(app)
        self._wake.set()

    def forget(self, app: Mapping[str, Any]) -> None:
        self._states.pop(app_key(app), None)

    # -- loops -------------------------------------------------------------------------------

    async def run(self, *, watch_apps: bool = False) -> None:
        """Run until cancelled; ``watch_apps``: standalone, with an Application watch."""
        await self._reload_config_until_read()
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("config", self._poll_config),
            ("projects", lambda: self._watch("AppProject")),
            ("processor", self._process),
        ]
        if watch_apps:
            loops.append(("apps", lambda: self._watch("Application")))
        tasks = [
            asyncio.create_task(_supervised(name, loop), name=f"notifications-{name}")
            for name, loop in loops
        ]
        self.ready.set()
        log.info(
            "notifications controller ready (%d services)",
            len(self.config.services) if self.config else 0,
        )
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in [*tasks, *self._deliveries]:
                task.cancel()
            await asyncio.gather(*tasks, *self._deliveries, return_exceptions=True)
            await self.sender.aclose()

    async def _reload_config(self) -> None:
        cm = await self.mgmt.get_or_none(
            ResourceKey("", "ConfigMap", self.namespace, self._config_map)
        )
        sec = await self.mgmt.get_or_none(ResourceKey("", "Secret", self.namespace, self._secret))
        seen = ((cm or {}).get("data"), (sec or {}).get("data"))
        if seen == self._config_seen:
            return
        self._config_seen = seen
        self.config = config_mod.load(seen[0] or {}, config_mod.decode_secret(sec))
        for problem in self.config.problems:
            log.warning("notifications config refused: %s", problem)
        self._wake.set()

    async def _reload_config_until_read(self) -> None:
        backoff = kube_watch.Backoff()
        while True:
            try:
                await self._reload_config()
                return
            except errors.KubeError as exc:
                log.warning("reading %s: %s; retrying", self._config_map, exc)
                await asyncio.sleep(backoff.next())

    async def _poll_config(self) -> None:
        while True:
            await asyncio.sleep(self._poll)
            try:
                await self._reload_config()
            except errors.KubeError as exc:
                log.warning(
                    "reading %s: %s; the config read before stays in force", self._config_map, exc
                )

    async def _watch(self, kind: str) -> None:
        backoff = kube_watch.Backoff()
        while True:
            try:
                res = await self.mgmt.resource("argoproj.io", kind)
                break
            except errors.KubeError as exc:
                log.warning("notifications: %s: %s; retrying", kind, exc)
                await asyncio.sleep(backoff.next())
        async for event in kube_watch.reflect(self.mgmt, res, namespace=self.namespace):
            objs = (
                event.items if event.type == "RELISTED" else [event.object] if event.object else []
            )
            if kind == "AppProject":
                if event.type == "RELISTED":
                    self._projects = {}
                for obj in objs:
                    name = str((obj.get("metadata") or {}).get("name"))
                    if event.type == "DELETED":
                        self._projects.pop(name, None)
                    else:
                        self._projects[name] = obj
            else:
                for obj in objs:
                    if event.type == "DELETED":
                        self.forget(obj)
                    else:
                        self.feed(obj)

    async def _process(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._pending = self._pending, {}
            for app in batch.values():
                try:
                    await self._handle(app)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("notifications: evaluating %s/%s failed", *app_key(app))

    # -- one app -----------------------------------------------------------------------------

    def project_of(self, app: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._projects.get(str((app.get("spec") or {}).get("project") or "default"))

    async def _handle(self, app: dict[str, Any]) -> None:
        conf = self.config
        if conf is None:
            return
        key = app_key(app)
        project = self.project_of(app)
        result = evaluate.evaluate(app, project, conf, notified_state=self._states.get(key))
        for problem in result.problems:
            if problem not in self._logged and len(self._logged) < 10_000:
                self._logged.add(problem)
                log.warning("notifications: %s", conf.scrub(problem))
        if not result.state_changed:
            return
        self._states[key] = result.state
        try:
            await self.mgmt.patch(
                ResourceKey("argoproj.io", "Application", key[0], key[1]),
                {"metadata": {"annotations": {state.ANNOTATION: state.encode(result.state)}}},
            )
        except errors.KubeNotFoundError:
            self._states.pop(key, None)
            return
        except errors.KubeError as exc:
            log.warning("notifications: recording the notified state of %s/%s: %s", *key, exc)
        for delivery in result.deliveries:
            self._spawn(conf, delivery, app, project)

    def _spawn(
        self,
        conf: config_mod.Config,
        delivery: evaluate.Delivery,
        app: Mapping[str, Any],
        project: Mapping[str, Any] | None,
    ) -> None:
        service_type = conf.services[delivery.service].type
        if len(self._deliveries) >= self._max_queued:
            metric_families.NOTIFICATIONS_DELIVERIES.labels(service_type, "dropped").inc()
            log.warning(
                "notifications: %d deliveries waiting; dropped %s to %s:%s",
                len(self._deliveries), delivery.trigger, delivery.service, delivery.recipient,
            )  # fmt: skip
            return
        task = asyncio.create_task(self._deliver(conf, delivery, app, project))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(
        self,
        conf: config_mod.Config,
        delivery: evaluate.Delivery,
        app: Mapping[str, Any],
        project: Mapping[str, Any] | None,
    ) -> None:
        namespace, name = app_key(app)
        async with self._slots:
            try:
                await deliver(self.sender, conf, delivery, app, project)
            except (services.DeliveryError, errors.TemplateError) as exc:
                log.warning(
                    "notifications: %s of %s/%s: %s",
                    delivery.trigger,
                    namespace,
                    name,
                    conf.scrub(str(exc)),
                )
                return
        log.info(
            "notifications: sent %s of %s/%s to %s:%s",
            delivery.trigger, namespace, name, delivery.service, delivery.recipient,
        )  # fmt: skip

    @property
    def busy(self) -> bool:
        """Something is pending or being delivered (tests and benchmarks poll it)."""
        return bool(self._pending or self._deliveries or self._wake.is_set())
