"""The Sealed Secrets controller for one cluster: keys, then SealedSecrets -> Secrets (I/O).

On start it makes sure an active key exists (a new one when none does or the newest is older
than the renewal period), then lists and watches SealedSecrets in every namespace and writes
each one's Secret; key Secrets are watched too, so a key added or rotated by hand is used at
once and SealedSecrets that failed are retried with it. A SealedSecret that cannot be decrypted
(or whose Secret exists and is not managed) leaves the Secret untouched; its ``Synced``
condition says why. The Secret is owned by its SealedSecret, so the garbage collector deletes
it with the SealedSecret.

One :class:`Controller` serves one cluster (one :class:`KubeClient`): standalone
(``tidegate sealed-secrets-controller``) or one per registered cluster under ``tidegate
controller`` (:class:`tidegate.kube.fleet.Fleet`). On a cluster without the SealedSecret CRD it
says so once and looks again every :data:`CRD_RETRY_SECONDS` (``tidegate cluster add`` installs
it), instead of failing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime
import json
import logging
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from tidegate.kube import client as kube_client
from tidegate.kube import discovery, watch
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sealedsecrets import crypto, keys, keystore, names, unsealing

log = logging.getLogger(__name__)
CRD_RETRY_SECONDS = 30.0
# SealedSecrets reconciled at once without a gate (see :class:`Gate`): their API round trips
# overlap, their RSA work runs in the decryption threads. Distinct objects, so no two touch the
# same Secret.
RELIST_CONCURRENCY = 8
# Threads for RSA private operations: cryptography lets go of the GIL while OpenSSL decrypts,
# so each usable core unwraps session keys in parallel (docs/sealedsecrets.md, Numbers).
DECRYPT_THREADS = max(1, len(os.sched_getaffinity(0)))
# Attempts of one Secret write: a conflict (stale resourceVersion, or a Secret created since it
# was listed) reads the Secret again; an overloaded server (429, 5xx) is waited for.
WRITE_ATTEMPTS = 4
_MERGE = "application/merge-patch+json"
_Listed = Mapping[tuple[str, str], Any] | None


class Gate(Protocol):
    """How many reconciles run at once (``controller.opgate.OperationGate``: adaptive, it
    halves on a 429 and shrinks while the API server's latency rises)."""

    async def acquire(self, *, manual: bool) -> None: ...

    def release(self) -> None: ...


@dataclasses.dataclass
class Outcome:
    """What one reconcile did: ``action`` (create/update/adopt/unchanged/failed) and why."""

    action: str
    reason: str = ""
    message: str = ""


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _id(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _settled(obj: Mapping[str, Any]) -> bool:
    """Unsealed at its current generation (a status-only change needs no new unseal)."""
    cond = unsealing.condition(obj) or {}
    observed = (obj.get("status") or {}).get("observedGeneration")
    return cond.get("status") == "True" and observed == (obj.get("metadata") or {}).get(
        "generation"
    )


class Controller:
    def __init__(
        self,
        client: kube_client.KubeClient,
        *,
        policy: keystore.KeyPolicy | None = None,
        render: unsealing.Renderer | None = None,
        namespace: str | None = None,
        update_status: bool = True,
        gate: Gate | None = None,
    ) -> None:
        self.client = client
        self.gate = gate
        self._fixed = asyncio.Semaphore(RELIST_CONCURRENCY)
        self._decrypt_pool: concurrent.futures.ThreadPoolExecutor | None = None
        # The per-SealedSecret work queue: the newest object still to reconcile, and the task
        # reconciling that SealedSecret (one at a time per object, any number of objects).
        self._queued: dict[tuple[str, str], tuple[Mapping[str, Any], _Listed]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.policy = policy or keystore.KeyPolicy()
        self.render = render
        self.namespace = namespace
        self.update_status = update_status
        self.keys: list[keys.SealingKey] = []
        self.failed: dict[tuple[str, str], dict[str, Any]] = {}
        self.counts = {"unseal_requests_total": 0, "unseal_errors_total": 0}
        self.ready = asyncio.Event()

    # -- one SealedSecret ----------------------------------------------------------------

    async def reconcile(
        self, sealed: Mapping[str, Any], *, listed: Mapping[tuple[str, str], Any] | None = None
    ) -> Outcome:
        """Write the Secret of one SealedSecret and its status; failures become the status.

        ``listed``: the Secrets of a list made just before (keyed by namespace and name), so a
        relist of N SealedSecrets reads their Secrets with one request instead of N."""
        ns, name = _id(sealed)
        self.counts["unseal_requests_total"] += 1
        try:
            outcome = await self._write(sealed, listed)
        except crypto.UnsealError as exc:
            outcome = Outcome("failed", names.REASON_UNSEAL_FAILED, str(exc))
        except errors.KubeError as exc:
            outcome = Outcome("failed", names.REASON_UPDATE_FAILED, str(exc))
        if outcome.action == "failed":
            self.counts["unseal_errors_total"] += 1
            self.failed[(ns, name)] = dict(sealed)
            log.warning("sealed secrets: %s: %s", outcome.reason, outcome.message)
        else:
            self.failed.pop((ns, name), None)
            if outcome.action != "unchanged":
                done = "adopted" if outcome.action == "adopt" else f"{outcome.action}d"
                log.info("sealed secrets: Secret %s/%s %s", ns, name, done)
        await self._set_status(sealed, outcome)
        return outcome

    async def _write(
        self, sealed: Mapping[str, Any], listed: Mapping[tuple[str, str], Any] | None
    ) -> Outcome:
        ns, name = _id(sealed)
        values = await self._decrypt(sealed)
        desired = unsealing.secret_for(sealed, values, render=self.render)
        key = ResourceKey("", "Secret", ns, name)
        if listed is not None:
            existing = listed.get((ns, name))
            known = True
        else:  # never unsealed: most likely no Secret yet, so create without reading first
            existing, known = None, unsealing.condition(sealed) is None
        backoff = watch.Backoff(initial=0.2, maximum=5.0)
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            if not known:
                existing = await self.client.get_or_none(key)
            step = unsealing.plan(sealed, desired, existing)
            try:
                await self._send(step)
            except errors.KubeConflictError:
                if attempt == WRITE_ATTEMPTS:
                    raise
                known = False  # created meanwhile, or changed since read: read it again
                continue
            except errors.KubeServerError as exc:
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.info("sealed secrets: %s; retrying", exc)
                await asyncio.sleep(backoff.next())
                continue
            return Outcome(step.action, names.REASON_UNSEALED)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, step: unsealing.Plan) -> None:
        secret = dict(step.secret)
        secret["metadata"] = {
            k: v for k, v in (secret.get("metadata") or {}).items() if k != "managedFields"
        }
        if step.action == "create":
            await self.client.create(secret)
        elif step.action in ("update", "adopt"):
            await self.client.replace(secret)

    async def _decrypt(self, sealed: Mapping[str, Any]) -> dict[str, bytes]:
        """Every value of ``sealed``, decrypted in a decryption thread (RSA lets go of the
        GIL, so these run on every core while the event loop goes on)."""
        if self._decrypt_pool is None:
            self._decrypt_pool = concurrent.futures.ThreadPoolExecutor(
                DECRYPT_THREADS, thread_name_prefix="unseal"
            )
        private = [k.private_key for k in self.keys]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._decrypt_pool, unsealing.decrypt_values, sealed, private
        )

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of the reconciles that may run at once (the gate's, or a fixed number)."""
        if self.gate is None:
            async with self._fixed:
                yield
            return
        await self.gate.acquire(manual=False)
        try:
            yield
        finally:
            self.gate.release()

    async def _set_status(self, sealed: Mapping[str, Any], outcome: Outcome) -> None:
        if not self.update_status:
            return
        ok = outcome.action != "failed"
        patch = unsealing.status_patch(
            sealed, ok=ok, reason=outcome.reason, message=outcome.message, now=_now()
        )
        if patch is None:
            return
        ns, name = _id(sealed)
        res = await self.client.resource(names.GROUP, names.KIND, names.VERSION)
        try:
            await self.client.request(
                "PATCH",
                res.path(ns, name) + "/status",
                what=f"update status of SealedSecret {ns}/{name} on cluster {self.client.name}",
                body=json.dumps(patch).encode(),
                content_type=_MERGE,
            )
        except errors.KubeNotFoundError:
            pass  # deleted meanwhile
        except errors.KubeError as exc:
            log.warning("sealed secrets: %s", exc)

    # -- keys --------------------------------------------------------------------------------

    async def refresh_keys(self) -> None:
        found, problems = await keystore.read_keys(self.client, self.policy.namespace)
        for problem in problems:
            log.warning("sealed secrets: %s (skipped)", problem)
        known = {k.name for k in self.keys}
        self.keys = found
        if {k.name for k in found} - known:
            for sealed in list(self.failed.values()):  # a new key may open what failed
                self._enqueue(sealed)

    async def _watch_keys(self) -> None:
        res = await self.client.resource("", "Secret", "v1")
        async for event in watch.reflect(
            self.client, res, namespace=self.policy.namespace, label_selector=keystore.selector()
        ):
            if event.type in ("ADDED", "MODIFIED", "DELETED", "RELISTED"):
                await self.refresh_keys()

    async def _renew_keys(self) -> None:
        period = self.policy.renew_period
        if period <= datetime.timedelta(0):
            return
        while True:
            latest = keys.newest(self.keys)
            now = datetime.datetime.now(datetime.UTC)
            wait = (latest.not_before + period - now).total_seconds() if latest else 0.0
            await asyncio.sleep(max(1.0, min(wait, 3600.0)))
            now = datetime.datetime.now(datetime.UTC)
            if keys.due_for_renewal(self.keys, now=now, period=period):
                self.keys = await keystore.ensure_key(self.client, self.policy)

    # -- SealedSecrets -----------------------------------------------------------------------

    async def _sealed_resource(self) -> discovery.APIResource:
        """SealedSecrets' resource, once the cluster serves it (the CRD may come later)."""
        said = False
        while True:
            try:
                return await self.client.resource(names.GROUP, names.KIND, names.VERSION)
            except errors.UnknownKindError:
                if not said:
                    log.warning(
                        "sealed secrets: cluster %s has no SealedSecret CRD (%s); waiting for it"
                        " (tidegate cluster add or tidegate sealed-secrets-controller"
                        " --install-crd installs it)",
                        self.client.name,
                        names.API_VERSION,
                    )
                    said = True
                await asyncio.sleep(CRD_RETRY_SECONDS)
                self.client.discovery.invalidate()

    async def _watch_sealed(self) -> None:
        res = await self._sealed_resource()
        async for event in watch.reflect(self.client, res, namespace=self.namespace):
            if event.type == "RELISTED":
                # On start every SealedSecret is unsealed (a Secret deleted by hand comes back);
                # after an expired watch, only those not settled at their generation.
                await self._reconcile_all(
                    [i for i in event.items if event.reason == "initial" or not _settled(i)]
                )
                if not self.ready.is_set():
                    self.ready.set()
                    log.info(
                        "sealed secrets controller ready on cluster %s (%d SealedSecrets)",
                        self.client.name,
                        len(event.items),
                    )
            elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
                if not _settled(event.object):
                    self._enqueue(event.object)
            elif event.type == "DELETED" and event.object is not None:
                self.failed.pop(_id(event.object), None)
                self._queued.pop(_id(event.object), None)
            elif event.type == "ERROR":
                log.warning("sealed secrets: watch: %s", event.reason)

    async def _reconcile_all(self, items: list[Mapping[str, Any]]) -> None:
        listed: dict[tuple[str, str], Any] | None = None
        if len(items) > 1:  # one list of the Secrets instead of a GET per SealedSecret
            res = await self.client.resource("", "Secret", "v1")
            found = await self.client.list(res, namespace=self.namespace)
            listed = {_id(secret): secret for secret in found.items}
        await asyncio.gather(*{self._enqueue(item, listed) for item in items})

    # -- the work queue ----------------------------------------------------------------------

    def _enqueue(self, sealed: Mapping[str, Any], listed: _Listed = None) -> asyncio.Task[None]:
        """Reconcile ``sealed`` soon, after the reconcile of the same SealedSecret under way
        (an older version of it is dropped); the task finishes once it is done."""
        key = _id(sealed)
        self._queued[key] = (sealed, listed)
        task = self._workers.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._work(key))
            self._workers[key] = task
        return task

    async def _work(self, key: tuple[str, str]) -> None:
        try:
            while (entry := self._queued.pop(key, None)) is not None:
                sealed, listed = entry
                async with self._slot():
                    try:
                        await self.reconcile(sealed, listed=listed)
                    except Exception:  # a bug: say so, keep the other SealedSecrets going
                        log.exception("sealed secrets: reconcile of %s/%s failed", *key)
        finally:
            self._workers.pop(key, None)

    async def _stop_workers(self) -> None:
        workers = list(self._workers.values())
        self._queued.clear()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def run(self) -> None:
        """Ensure a key, then unseal forever (cancel to stop)."""
        self.keys = await keystore.ensure_key(self.client, self.policy)
        log.info(
            "sealed secrets: %d active key(s) in %s on cluster %s",
            len(self.keys),
            self.policy.namespace,
            self.client.name,
        )
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch_keys())
                group.create_task(self._renew_keys())
                group.create_task(self._watch_sealed())
        finally:
            await self._stop_workers()
            if self._decrypt_pool is not None:
                self._decrypt_pool.shutdown(wait=False, cancel_futures=True)
                self._decrypt_pool = None
