"""The promotion controller: Projects, Warehouses, Freight, Stages and Promotions (I/O).

One reconcile pass per project namespace, on a short tick and whenever something asks
(:meth:`Controller.wake`, e.g. a webhook): Projects get their namespace; due Warehouses
discover artifacts and create Freight (in background tasks, so a slow registry holds up no
other warehouse); each Stage runs its oldest pending Promotion (one at a time per Stage, so
promotions of one Stage are serialised), auto-promotes where the project's policy says so, and
verifies the Freight it holds once its last promotion succeeded (no analysis templates: verified
when the promotion, which waits for the apps to be Synced and Healthy, succeeded).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate.analysis import controller as analysis_controller
from tidegate.kube import client as kube_client
from tidegate.kube import events
from tidegate.metrics import families as metric_families
from tidegate.model import durations, errors
from tidegate.model import secrets as model_secrets
from tidegate.model.keys import ResourceKey
from tidegate.promotion import (
    availability,
    builtin_steps,
    discover,
    discovery,
    promotions,
    receivers,
    runner,
    steps,
    verification,
)
from tidegate.promotion import freight as freight_mod
from tidegate.promotion.crds import GROUP
from tidegate.sources import charts as charts_mod
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd
from tidegate.store import audit

log = logging.getLogger(__name__)
Obj = dict[str, Any]
CRED_LABEL = "kargo.akuity.io/cred-type"
PROJECT_LABEL = "kargo.akuity.io/project"
REFRESH_ANNOTATION = "kargo.akuity.io/refresh"
SHARD_LABEL = "kargo.akuity.io/shard"
DEFAULT_INTERVAL = 300.0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


class Controller:
    def __init__(
        self,
        kube: kube_client.KubeClient,
        *,
        workroot: Path,
        tick: float = 1.0,
        apps_namespace: str = "argocd",
        health_timeout: float = 300.0,
        git_limits: gitcmd.GitLimits | None = None,
        audit_url: str = "",
        shard: str = "",
    ) -> None:
        self.kube = kube
        self.shard = shard
        self.audit = audit.AuditLog(audit_url) if audit_url else None
        self.tick = tick
        self.workroot = workroot
        self.git = gitcmd.GitRunner(state_dir=workroot / "git-state", limits=git_limits)
        self.charts = charts_mod.ChartCache(workroot / "charts")
        self.events = events.EventRecorder(kube, component="tidegate-promotion-controller")
        self.runner = runner.Runner(
            kube,
            git=self.git,
            creds=self._git_creds,
            helm_creds=self._helm_creds,
            workroot=workroot / "work",
            apps_namespace=apps_namespace,
            health_timeout=health_timeout,
        )
        self._wake = asyncio.Event()
        self._tasks: dict[str, asyncio.Task[None]] = {}  # promotion or warehouse key -> task
        self._last_discovery: dict[str, float] = {}
        self.receivers: dict[str, receivers.Receiver] = {}
        self.passes = 0

    # -- entry points ------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile until ``stop``; a failing pass (no Kargo CRDs yet, the API server down) is
        retried with backoff, logged once per distinct error."""
        delay, last_error = self.tick, ""
        # The AnalysisRuns of Stage verifications, on this (the management) cluster; a
        # Rollouts controller's runs carry other labels and are left to it.
        analysis = analysis_controller.AnalysisController(
            self.kube, label_selector=verification.STAGE_LABEL
        )
        analysis_task = asyncio.create_task(analysis.run(stop), name="verification analysis")
        self._tasks["analysis"] = analysis_task
        try:
            while not stop.is_set():
                try:
                    await self.reconcile_all()
                    delay, last_error = self.tick, ""
                except errors.TidegateError as exc:
                    if str(exc) != last_error:
                        log.warning("promotion pass failed (retrying): %s", exc)
                    last_error, delay = str(exc), min(delay * 2, 30.0)
                self._wake.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wake.wait()),
                ]
                try:
                    await asyncio.wait(waiters, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waiters:
                        w.cancel()
        finally:  # stopped or cancelled (a replica that loses its leader Lease): nothing left
            await self.events.aclose()
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    def _shard_selector(self) -> str:
        """Kargo's sharding: a controller with a shard name takes the Projects labelled with
        it; one without takes the unlabelled ones, so two controllers never share a Project."""
        return f"{SHARD_LABEL}={self.shard}" if self.shard else f"!{SHARD_LABEL}"

    async def reconcile_all(self) -> None:
        res = await self.kube.resource(GROUP, "Project")
        for project in (await self.kube.list(res, label_selector=self._shard_selector())).items:
            await self._ensure_namespace(project)
            await self.reconcile_project(_name(project))
        self.passes += 1

    # -- one project -------------------------------------------------------------------------
    async def _list(self, kind: str, namespace: str) -> list[Obj]:
        res = await self.kube.resource(GROUP, kind)
        return (await self.kube.list(res, namespace=namespace)).items

    async def _ensure_namespace(self, project: Obj) -> None:
        name = _name(project)
        key = ResourceKey("", "Namespace", "", name)
        if await self.kube.get_or_none(key) is None:
            await self.kube.create(
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name, "labels": {PROJECT_LABEL: "true"}},
                }
            )
        status = project.get("status") or {}
        conditions = status.get("conditions") or []
        if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready = [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": f"namespace {name} is ready",
                    "lastTransitionTime": availability.format_time(_now()),
                }
            ]
            await self.kube.patch(
                ResourceKey(GROUP, "Project", "", name),
                {"status": {"conditions": ready}},
                subresource="status",
            )

    async def reconcile_project(self, ns: str) -> None:
        warehouses = await self._list("Warehouse", ns)
        for warehouse in warehouses:
            self._maybe_discover(ns, warehouse)
        freights = await self._list("Freight", ns)
        stages = {_name(s): s for s in await self._list("Stage", ns)}
        promos = await self._list("Promotion", ns)
        configs = await self._list("ProjectConfig", ns)
        await self._receivers(ns, configs)
        auto = _auto_stages(configs)
        tasks = await self._tasks_by_key(ns)
        upstream_current = {n: availability.current_freight(s) for n, s in stages.items()}
        for stage_name, stage in stages.items():
            mine = sorted(
                (p for p in promos if (p.get("spec") or {}).get("stage") == stage_name),
                key=promotions.order_key,
            )
            active = [p for p in mine if promotions.phase(p) not in promotions.TERMINAL]
            if active:
                self._start_promotion(ns, active[0], freights, stage, tasks)
            elif stage_name in auto:
                await self._auto_promote(
                    ns, stage_name, stage, freights, tasks, upstream_current, mine[-1:]
                )
            await self._verify(ns, stage_name, stage, freights, promos)

    async def _tasks_by_key(self, ns: str) -> dict[str, Obj]:
        out: dict[str, Obj] = {}
        for kind in ("PromotionTask", "ClusterPromotionTask"):
            res = await self.kube.resource(GROUP, kind)
            where = ns if kind == "PromotionTask" else None
            for task in (await self.kube.list(res, namespace=where)).items:
                out[f"{kind}/{_name(task)}"] = task
        return out

    # -- webhook receivers ---------------------------------------------------------------------
    async def _receivers(self, ns: str, configs: list[Obj]) -> None:
        """Learn the project's receivers and publish their paths in the ProjectConfig status."""
        # Built aside and swapped in at the end: a delivery arriving meanwhile still finds
        # the receivers of the previous pass.
        fresh: dict[str, receivers.Receiver] = {}
        for config in configs:
            published = []
            for name, provider, ref in receivers.declared(config):
                entry: dict[str, Any] = {"name": name}
                secret = (
                    await self.kube.get_or_none(ResourceKey("", "Secret", ns, ref)) if ref else None
                )
                raw = ((secret or {}).get("data") or {}).get("secret")
                if not provider:
                    entry["message"] = (
                        f"receiver {name!r} names none of {', '.join(receivers.PROVIDERS)}"
                    )
                elif raw is None:
                    entry["message"] = (
                        f"receiver {name!r}: Secret {ns}/{ref or '?'} with key 'secret' not found"
                    )
                else:
                    value = model_secrets.decode(raw) or ""
                    receiver = receivers.Receiver(ns, name, provider, value)
                    fresh[receiver.path] = receiver
                    entry["path"] = receiver.path
                published.append(entry)
            if (config.get("status") or {}).get("webhookReceivers") != published:
                with contextlib.suppress(errors.KubeNotFoundError):
                    await self.kube.patch(
                        ResourceKey(GROUP, "ProjectConfig", ns, _name(config)),
                        {"status": {"webhookReceivers": published}},
                        subresource="status",
                    )
        for path in [p for p, r in self.receivers.items() if r.project == ns and p not in fresh]:
            del self.receivers[path]
        self.receivers.update(fresh)

    async def deliver(self, path: str, headers: Mapping[str, str], body: bytes) -> int:
        """A webhook delivery to ``path``: refresh the Warehouses it concerns; their number."""
        receiver = self.receivers.get(path)
        if receiver is None:
            raise receivers.ReceiverError("no webhook receiver at this path", 404)
        repos = receivers.repositories(receiver, headers, body)
        hit = 0
        for warehouse in await self._list("Warehouse", receiver.project):
            if receivers.subscribed(warehouse, repos):
                self._last_discovery.pop(f"warehouse {receiver.project}/{_name(warehouse)}", None)
                hit += 1
        log.info(
            "webhook receiver %s/%s (%s): %d warehouse(s) to refresh",
            receiver.project,
            receiver.name,
            receiver.provider,
            hit,
        )
        self.wake()
        return hit

    # -- warehouses ---------------------------------------------------------------------------
    def _maybe_discover(self, ns: str, warehouse: Obj) -> None:
        key = f"warehouse {ns}/{_name(warehouse)}"
        if key in self._tasks and not self._tasks[key].done():
            return
        spec, status = warehouse.get("spec") or {}, warehouse.get("status") or {}
        refresh = ((warehouse.get("metadata") or {}).get("annotations") or {}).get(
            REFRESH_ANNOTATION
        )
        try:
            interval = durations.parse(str(spec.get("interval") or "5m0s"))
        except errors.TidegateError:
            interval = DEFAULT_INTERVAL
        loop = asyncio.get_running_loop()
        due = loop.time() - self._last_discovery.get(key, -1e18) >= interval
        asked = bool(refresh) and refresh != status.get("lastHandledRefresh")
        if not (due or asked):
            return
        self._last_discovery[key] = loop.time()
        self._tasks[key] = asyncio.create_task(self._discover(ns, warehouse, refresh))

    async def _discover(self, ns: str, warehouse: Obj, refresh: str | None) -> None:
        name = _name(warehouse)
        where = f"Warehouse {ns}/{name}"
        wkey = ResourceKey(GROUP, "Warehouse", ns, name)
        status: dict[str, Any] = {"observedGeneration": warehouse["metadata"].get("generation")}
        if refresh:
            status["lastHandledRefresh"] = refresh
        try:
            artifacts = await self._artifacts(ns, warehouse, where)
            policy = str((warehouse.get("spec") or {}).get("freightCreationPolicy") or "Automatic")
            status["discoveredArtifacts"] = {
                "discoveredAt": availability.format_time(_now()),
                "artifacts": [a.to_obj() for a in artifacts],
            }
            if policy == "Automatic" and artifacts:
                status["lastFreightID"] = await self._create_freight(ns, name, artifacts)
            status["conditions"] = [_condition("Ready", "True", "ArtifactsDiscovered", "")]
        except (errors.TidegateError, discovery.SubscriptionError) as exc:
            log.warning("%s: %s", where, exc)
            status["conditions"] = [_condition("Ready", "False", "DiscoveryFailed", str(exc))]
        with contextlib.suppress(errors.KubeNotFoundError):
            await self.kube.patch(wkey, {"status": status}, subresource="status")
        self.wake()

    async def _artifacts(self, ns: str, warehouse: Obj, where: str) -> list[freight_mod.Artifact]:
        found: list[freight_mod.Artifact] = []
        for index, sub in enumerate(discover.subscriptions(warehouse)):
            label = f"{where}: subscription {index + 1}"
            try:
                found += await self._subscription(ns, sub, label)
            except discovery.SubscriptionError:
                raise
            except errors.TidegateError as exc:
                raise errors.SourceError(f"{label}: {exc}") from None
        return found

    async def _subscription(
        self, ns: str, sub: Mapping[str, Any], label: str
    ) -> list[freight_mod.Artifact]:
        if "image" in sub:
            policy = discovery.image_policy(sub["image"], f"{label} (image)")
            creds = await self._creds(ns, "image", policy.repo_url)
            return list(await discover.image_artifacts(policy, creds))
        if "git" in sub:
            gpolicy = discovery.git_policy(sub["git"], f"{label} (git)")
            creds = await self._creds(ns, "git", gpolicy.repo_url)
            return list(await discover.git_artifacts(gpolicy, self.git, creds))
        if "chart" in sub:
            cpolicy = discovery.chart_policy(sub["chart"], f"{label} (chart)")
            creds = await self._creds(ns, "helm", cpolicy.repo_url)
            return list(await discover.chart_artifacts(cpolicy, self.charts, creds))
        raise discovery.SubscriptionError(f"{label}: needs one of image, git or chart")

    async def _create_freight(
        self, ns: str, warehouse: str, artifacts: list[freight_mod.Artifact]
    ) -> str:
        """Create the Freight for ``artifacts`` unless it exists; return its name."""
        name = freight_mod.name("Warehouse", warehouse, artifacts)
        if await self.kube.get_or_none(ResourceKey(GROUP, "Freight", ns, name)) is not None:
            return name
        taken = {str(f.get("alias") or "") for f in await self._list("Freight", ns)}
        fresh = freight_mod.manifest(
            namespace=ns, warehouse=warehouse, artifacts=artifacts, taken=taken
        )
        try:
            await self.kube.create(fresh)
            log.info("Freight %s (%s) created in %s", name, fresh["alias"], ns)
        except errors.KubeError as exc:
            if not kube_client.already_exists(exc):
                raise
        return name

    async def _creds(self, ns: str, kind: str, url: str) -> creds_mod.RepoCredentials | None:
        res = await self.kube.resource("", "Secret")
        listed = await self.kube.list(res, namespace=ns, label_selector=f"{CRED_LABEL}={kind}")
        import re

        for secret in listed.items:
            data = {k: model_secrets.decode(v) or "" for k, v in (secret.get("data") or {}).items()}
            pattern = data.get("repoURL", "")
            if data.get("repoURLIsRegex") == "true":
                hit = bool(re.fullmatch(pattern, url))
            else:
                hit = freight_mod.normalize_git_url(pattern) == freight_mod.normalize_git_url(url)
            if hit:
                return creds_mod.RepoCredentials(
                    username=data.get("username", ""),
                    password=data.get("password", ""),
                    source=f"Secret {ns}/{_name(secret)}",
                )
        return None

    def _git_creds(self, ns: str) -> steps.CredsLookup:
        async def lookup(url: str) -> creds_mod.RepoCredentials | None:
            return await self._creds(ns, "git", url)

        return lookup

    def _helm_creds(self, ns: str) -> steps.CredsLookup:
        async def lookup(url: str) -> creds_mod.RepoCredentials | None:
            return await self._creds(ns, "helm", url)

        return lookup

    # -- promotions ---------------------------------------------------------------------------
    def _start_promotion(
        self, ns: str, promo: Obj, freights: list[Obj], stage: Obj, tasks: Mapping[str, Obj]
    ) -> None:
        key = f"promotion {ns}/{_name(promo)}"
        if key in self._tasks and not self._tasks[key].done():
            return
        self._tasks[key] = asyncio.create_task(self._promote(ns, promo, freights, stage))

    async def _promote(self, ns: str, promo: Obj, freights: list[Obj], stage: Obj) -> None:
        spec = promo.get("spec") or {}
        stage_name, fname = str(spec.get("stage")), str(spec.get("freight"))
        pkey = ResourceKey(GROUP, "Promotion", ns, _name(promo))
        freight = next((f for f in freights if _name(f) == fname), None)
        if freight is None:
            await self._finish(pkey, "Errored", f"Freight {fname} does not exist in {ns}")
            return
        reason = availability.why_unavailable(
            freight, stage_name, availability.requests(stage), _now()
        )
        if reason is not None:
            await self._finish(
                pkey, "Errored", f"Freight {fname} is not available to Stage {stage_name}: {reason}"
            )
            return
        skey = ResourceKey(GROUP, "Stage", ns, stage_name)
        await self.kube.patch(
            skey,
            {"status": {"currentPromotion": {"name": _name(promo), "freight": {"name": fname}}}},
            subresource="status",
        )

        async def aborted() -> bool:
            current = await self.kube.get_or_none(pkey)
            annotations = ((current or {}).get("metadata") or {}).get("annotations") or {}
            return current is None or promotions.ABORT_ANNOTATION in annotations

        started = asyncio.get_running_loop().time()
        phase, message, state = await self.runner.run(promo, freight, aborted=aborted)
        await self._audit(promo, freight, stage_name, phase, message, state, started)
        metric_families.PROMOTIONS.labels(ns, stage_name, phase).inc()
        metric_families.PROMOTION_DURATION.labels(ns, stage_name).observe(
            asyncio.get_running_loop().time() - started
        )
        actor = (promo["metadata"].get("annotations") or {}).get(promotions.ACTOR_ANNOTATION, "")
        self.events.record(
            promo,
            events.EventSpec(
                f"Promotion{phase}",
                f"Promotion of Freight {fname} ({freight.get('alias', '')}) to Stage {stage_name}"
                f" {phase.lower()}"
                + (f": {message}" if phase != "Succeeded" else "")
                + (f" (requested by {actor})" if actor else ""),
                events.NORMAL if phase == "Succeeded" else events.WARNING,
            ),
        )
        await self._record(ns, stage, promo, freight, phase, message)
        self.wake()

    async def _audit(
        self,
        promo: Obj,
        freight: Obj,
        stage: str,
        phase: str,
        message: str,
        state: Mapping[str, Any],
        started: float,
    ) -> None:
        """One audit entry per finished promotion: who, which Freight, the commits, the time."""
        if self.audit is None:
            return
        commits = sorted(
            {str(v["commit"]) for v in state.values() if isinstance(v, Mapping) and v.get("commit")}
        )
        took = asyncio.get_running_loop().time() - started
        meta = promo["metadata"]
        entry = audit.Entry(
            actor=(meta.get("annotations") or {}).get(promotions.ACTOR_ANNOTATION, "") or "unknown",
            action="promote",
            result="succeeded" if phase == "Succeeded" else "failed",
            kind="Stage",
            project=str(meta["namespace"]),
            name=stage,
            namespace=str(meta["namespace"]),
            client="tidegate-promotion-controller",
            reason=(
                f"Promotion {meta['name']}: Freight {_name(freight)} ({freight.get('alias', '')})"
                f" {phase.lower()} in {took:.1f}s; commits: {', '.join(commits) or 'none'}"
                + ("" if phase == "Succeeded" else f"; {message}")
            ),
        )
        try:
            await asyncio.to_thread(self.audit.append, entry)
        except Exception as exc:  # the audit store failing never fails a promotion
            log.error("audit entry of promotion %s not written: %s", meta["name"], exc)

    async def _finish(self, key: ResourceKey, phase: str, message: str) -> None:
        status = {
            "phase": phase,
            "message": message,
            "finishedAt": availability.format_time(_now()),
        }
        await self.kube.patch(key, {"status": status}, subresource="status")

    async def _record(
        self, ns: str, stage: Obj, promo: Obj, freight: Obj, phase: str, message: str
    ) -> None:
        """Write the outcome on the Stage and, when it succeeded, on the Freight."""
        stage_name = _name(stage)
        skey = ResourceKey(GROUP, "Stage", ns, stage_name)
        fresh = await self.kube.get(skey)
        status = fresh.get("status") or {}
        patch: dict[str, Any] = {
            "currentPromotion": None,
            "lastPromotion": {
                "name": _name(promo),
                "freight": {"name": _name(freight)},
                "status": {"phase": phase, "message": message},
                "finishedAt": availability.format_time(_now()),
            },
        }
        if phase == "Succeeded":
            history = [runner.history_entry(freight)] + [
                h for h in status.get("freightHistory") or [] if h.get("id") != _name(freight)
            ]
            patch["freightHistory"] = history[:10]
            patch["health"] = {"status": "Healthy"}
            previous = availability.current_freight(fresh)
            when = availability.format_time(_now())
            for old in previous.values():
                if old and old != _name(freight):
                    await self._patch_freight(ns, old, {"currentlyIn": {stage_name: None}})
            await self._patch_freight(
                ns, _name(freight), {"currentlyIn": {stage_name: {"since": when}}}
            )
        await self.kube.patch(skey, {"status": patch}, subresource="status")

    async def _patch_freight(self, ns: str, name: str, status: Obj) -> None:
        with contextlib.suppress(errors.KubeNotFoundError):
            await self.kube.patch(
                ResourceKey(GROUP, "Freight", ns, name), {"status": status}, subresource="status"
            )

    async def _auto_promote(
        self,
        ns: str,
        stage_name: str,
        stage: Obj,
        freights: list[Obj],
        tasks: Mapping[str, Obj],
        upstream_current: Mapping[str, Mapping[str, str]],
        newest: Sequence[Obj] = (),
    ) -> None:
        pick = availability.auto_pick(freights, stage_name, stage, _now(), upstream_current)
        if pick is None:
            return
        if newest and (newest[0].get("spec") or {}).get("freight") == _name(pick):
            # The Stage's newest promotion already took this Freight (it ended a moment ago
            # and the Stage's status may not say so yet): never again automatically, whether
            # it succeeded or failed.
            return
        try:
            steps_list, declared = promotions.template_steps(stage, tasks, builtin_steps.STEPS)
        except promotions.PromotionError as exc:
            await self._stage_condition(ns, stage_name, "False", "InvalidTemplate", str(exc))
            return
        promo = promotions.new_promotion(
            namespace=ns,
            stage=stage_name,
            freight=_name(pick),
            steps=steps_list,
            vars_=declared,
            actor="tidegate:auto-promotion",
        )
        created = await self.kube.create(promo)
        self.events.record(
            created,
            events.EventSpec(
                "PromotionCreated",
                f"Auto-promotion of Freight {_name(pick)} ({pick.get('alias', '')}) to Stage "
                f"{stage_name}",
            ),
        )
        log.info("auto-promotion of Freight %s to Stage %s/%s", _name(pick), ns, stage_name)

    async def _stage_condition(
        self, ns: str, stage: str, value: str, reason: str, message: str
    ) -> None:
        await self.kube.patch(
            ResourceKey(GROUP, "Stage", ns, stage),
            {"status": {"conditions": [_condition("Ready", value, reason, message)]}},
            subresource="status",
        )

    # -- verification -------------------------------------------------------------------------
    async def _verify(
        self, ns: str, stage_name: str, stage: Obj, freights: list[Obj], promos: list[Obj]
    ) -> None:
        status = stage.get("status") or {}
        last = status.get("lastPromotion") or {}
        if (last.get("status") or {}).get("phase") != "Succeeded":
            return
        fname = str((last.get("freight") or {}).get("name") or "")
        freight = next((f for f in freights if _name(f) == fname), None)
        if freight is None:
            return
        verified = (freight.get("status") or {}).get("verifiedIn") or {}
        if stage_name in verified:
            return
        history = status.get("freightHistory") or []
        if not history or history[0].get("id") != fname:
            return
        skey = ResourceKey(GROUP, "Stage", ns, stage_name)
        entries = list(history[0].get("verificationHistory") or [])
        if not verification.templates_of(stage):
            when = availability.format_time(_now())
            await self._mark_verified(ns, fname, stage_name)
            history[0]["verificationHistory"] = [
                {
                    "id": fname[:12],
                    "phase": "Successful",
                    "startTime": when,
                    "finishTime": when,
                    "message": "no analysis templates: verified once Synced and Healthy",
                }
            ]
            await self.kube.patch(
                skey, {"status": {"freightHistory": history}}, subresource="status"
            )
            return
        if not entries:
            entry = await verification.start(self.kube, ns, stage, fname)
        elif entries[0].get("phase") in verification.TERMINAL:
            return
        else:
            followed = await verification.follow(self.kube, entries[0])
            if followed is None:
                return
            entry = followed
        history[0]["verificationHistory"] = [entry, *entries[1:]] if entries else [entry]
        patch: dict[str, Any] = {"freightHistory": history}
        phase = entry.get("phase")
        if phase == "Successful":
            await self._mark_verified(ns, fname, stage_name)
            patch["health"] = {"status": "Healthy"}
        elif phase in verification.TERMINAL:
            patch["health"] = {
                "status": "Unhealthy",
                "issues": [f"verification {phase}: {entry.get('message', '')}"],
            }
            log.warning(
                "Freight %s failed verification in Stage %s/%s: %s",
                fname,
                ns,
                stage_name,
                entry.get("message", phase),
            )
        else:
            patch["health"] = {"status": "Progressing"}
        await self.kube.patch(skey, {"status": patch}, subresource="status")

    async def _mark_verified(self, ns: str, fname: str, stage_name: str) -> None:
        self.events.record(
            {
                "apiVersion": f"{GROUP}/v1alpha1",
                "kind": "Freight",
                "metadata": {"name": fname, "namespace": ns},
            },
            events.EventSpec("FreightVerificationSucceeded", f"Verified in Stage {stage_name}"),
        )
        when = availability.format_time(_now())
        await self._patch_freight(ns, fname, {"verifiedIn": {stage_name: {"verifiedAt": when}}})
        log.info("Freight %s verified in Stage %s/%s", fname, ns, stage_name)


def _condition(kind: str, value: str, reason: str, message: str) -> Obj:
    return {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": availability.format_time(_now()),
    }


def _auto_stages(configs: list[Obj]) -> set[str]:
    out: set[str] = set()
    for config in configs:
        for policy in (config.get("spec") or {}).get("promotionPolicies") or ():
            if policy.get("autoPromotionEnabled") and policy.get("stage"):
                out.add(str(policy["stage"]))
    return out


def for_management(
    mgmt: Any, *, namespace: str, audit_url: str = "", shard: str = ""
) -> Controller:
    """The promotion controller of a ``tidegate controller`` process on ``mgmt``."""
    import platformdirs

    work = Path(platformdirs.user_cache_dir("tidegate")) / "promotion" / namespace
    return Controller(
        kube_client.client_for(mgmt, bulk=True),
        workroot=work,
        apps_namespace=namespace,
        audit_url=audit_url,
        shard=shard,
    )
