"""The controller's side of sharding: which apps are this replica's, and fenced work.

The engine asks :meth:`Shards.owns_app` before it refreshes an app and starts an operation only
through :meth:`Shards.start_operation`; both run behind the write fence of the app's shard
(:mod:`tidegate.kube.fence`), so that nothing of that work reaches an API server once the
shard's Lease is lost. When a shard is acquired, its apps are refreshed and their pending
operations resumed (from ``status.operationState``: the new owner continues where the old one
stopped, and the history entry is written once, at the end). When a shard is lost, the
operations of its apps are cancelled and the live caches of clusters no longer owned are
closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tidegate.controller import appstate, clusters, leases, sharding
from tidegate.kube import fence
from tidegate.model import constants, errors

log = logging.getLogger("tidegate.controller")


class Shards:
    def __init__(
        self,
        *,
        settings: sharding.ShardingSettings,
        store: leases.LeaseStore,
        namespace: str,
        registry: Callable[[], clusters.ClusterRegistry],
        states: appstate.AppStates,
        ensure_operation: Callable[[appstate.AppState], None],
        request_all: Callable[[], None],
        keep_clusters: Callable[[Callable[[], set[str]]], None],
    ) -> None:
        self.settings = settings
        self._registry = registry
        self._states = states
        self._ensure_operation = ensure_operation
        self._request_all = request_all
        self._keep_clusters = keep_clusters
        self._assigned: tuple[clusters.ClusterRegistry, dict[str, int]] | None = None
        self.leases = leases.ShardLeases(
            store=store,
            namespace=namespace,
            settings=settings,
            on_acquired=self._acquired,
            on_lost=self._lost,
        )

    # -- which apps are mine ------------------------------------------------------------------

    def assignment(self) -> dict[str, int]:
        """The shard of every registered cluster (recomputed when the registry changes)."""
        registry = self._registry()
        if self._assigned is None or self._assigned[0] is not registry:
            self._assigned = (
                registry,
                sharding.assign(
                    registry.clusters(),
                    replicas=self.settings.replicas,
                    algorithm=self.settings.algorithm,
                ),
            )
        return self._assigned[1]

    def shard_of_app(self, raw: Mapping[str, Any]) -> int:
        destination = (raw.get("spec") or {}).get("destination") or {}
        try:
            cluster = self._registry().resolve(destination.get("server"), destination.get("name"))
        except Exception:  # an unknown destination: shard 0 reports it
            return 0
        return sharding.shard_of(cluster.server, self.assignment())

    def owns_app(self, raw: Mapping[str, Any]) -> bool:
        return self.leases.owns(self.shard_of_app(raw))

    # -- fenced work --------------------------------------------------------------------------

    def fence_of(self, shard: int) -> fence.Check:
        """The fence of one piece of work (a refresh, an operation) on ``shard``. It stays shut
        once it has refused a write, even when the Lease is renewed a moment later: the work
        may have turned the refusal into a result (a failed dry run, a failed resource), and
        what it would write next (an Error outcome, a status) must not reach the API server.
        The work ends; the shard's owner starts it again from what was recorded."""
        refused: list[str] = []

        def check(what: str) -> None:
            if refused:
                raise errors.FenceError(
                    f"{what}: not sent: an earlier write of this work was refused ({refused[0]})"
                )
            try:
                self.leases.require(shard, what)
            except errors.FenceError as exc:
                refused.append(str(exc))
                raise

        return check

    @contextlib.contextmanager
    def fenced(self, raw: Mapping[str, Any]) -> Iterator[bool]:
        """Run the block behind the fence of the app's shard; yields whether it is owned now."""
        shard = self.shard_of_app(raw)
        with fence.scope(self.fence_of(shard)):
            try:
                yield self.leases.owns(shard)
            except errors.FenceError as exc:  # the shard was lost meanwhile: its new owner acts
                log.info("%s", exc)
            except Exception as exc:
                if self.leases.owns(shard):
                    raise
                # lost meanwhile: its cluster's runtime may have been closed under the work
                log.info("work on shard %d ended after the shard was lost: %s", shard, exc)

    def start_operation(self, state: appstate.AppState) -> None:
        """Start (or resume) the app's operation when its shard is this replica's; the task runs
        behind the shard's fence for its whole life."""
        shard = self.shard_of_app(state.raw)
        if not self.leases.owns(shard):
            return
        context = contextvars.copy_context()
        context.run(self._start_fenced, state, shard)

    def _start_fenced(self, state: appstate.AppState, shard: int) -> None:
        fence.set_for_task(self.fence_of(shard))  # the task created next copies this context
        self._ensure_operation(state)

    # -- published cluster state --------------------------------------------------------------

    def cluster_status(self, configmap: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The entries of ``tidegate-cluster-status`` this replica knows about (the clusters of
        the shards it holds), and the field manager to apply them with: one per replica, so
        that server-side apply merges the replicas' entries instead of each replacing all."""
        held = self.leases.held()
        registry = self._registry()
        owned = {
            c.name
            for c in registry.clusters()
            if sharding.shard_of(c.server, self.assignment()) in held
        }
        data = {k: v for k, v in (configmap.get("data") or {}).items() if k in owned}
        return {**configmap, "data": data}, f"{constants.FIELD_MANAGER}-{self.leases.identity}"

    # -- Lease events -------------------------------------------------------------------------

    def _acquired(self, shard: int) -> None:
        for state in self._states:
            if state.raw.get("operation") and self.shard_of_app(state.raw) == shard:
                self.start_operation(state)
        self._request_all()  # refreshes run only for the apps of owned shards

    def _lost(self, shard: int) -> None:
        self.stop_unowned(f"shard {shard} lost")

    def stop_unowned(self, why: str) -> None:
        """Cancel the operations of apps whose shard this replica does not own (a lost shard,
        or clusters reassigned when their Secrets changed) and close the live caches of the
        clusters it no longer owns."""
        stopped = 0
        for state in self._states:
            if state.operating() and not self.owns_app(state.raw):
                assert state.operation is not None
                state.operation.cancel()
                stopped += 1
        if stopped:
            log.warning("%s: %d running operations stopped", why, stopped)
        self._keep_clusters(self._owned_servers)

    def _owned_servers(self) -> set[str]:
        held = self.leases.held()
        return {server for server, shard in self.assignment().items() if shard in held}

    async def run(self) -> None:
        try:
            await self.leases.run()
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.leases.release_all())
            with contextlib.suppress(Exception):
                await self.leases.store.aclose()
