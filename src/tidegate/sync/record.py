"""The recorded state of a sync operation: per-resource results, as data.

Results serialise to Argo CD's ``status.operationState.syncResult.resources`` entries (group,
version, kind, namespace, name, status, message, hookPhase, hookType, syncPhase), so the
controller can write them to the Application and, after a restart, read them back and resume.
``hookPhase`` is also kept for ordinary resources: ``Running`` until the resource is healthy
(or, for a prune, gone), then ``Succeeded`` or ``Failed``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.model import enums, keys
from tidegate.sync import tasks


class ResultCode(enum.StrEnum):
    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"


class HookPhase(enum.StrEnum):
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"


FINISHED_OK = frozenset({HookPhase.SUCCEEDED})
FINISHED_BAD = frozenset({HookPhase.FAILED, HookPhase.ERROR})

Ident = tuple[str, str, str, str, str]


@dataclasses.dataclass(frozen=True)
class ResourceResult:
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: ResultCode
    message: str = ""
    hook_phase: HookPhase | None = None
    hook_type: enums.HookType | None = None
    sync_phase: enums.SyncPhase = enums.SyncPhase.SYNC

    @property
    def ident(self) -> Ident:
        return (self.group, self.kind, self.namespace, self.name, self.sync_phase.value)

    @property
    def key(self) -> keys.ResourceKey:
        return keys.ResourceKey(self.group, self.kind, self.namespace, self.name)

    @property
    def failed(self) -> bool:
        return self.status is ResultCode.SYNC_FAILED or self.hook_phase in FINISHED_BAD

    @property
    def running(self) -> bool:
        return self.hook_phase is HookPhase.RUNNING

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "syncPhase": self.sync_phase.value,
        }
        if self.hook_phase is not None:
            out["hookPhase"] = self.hook_phase.value
        if self.hook_type is not None:
            out["hookType"] = self.hook_type.value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceResult:
        return cls(
            group=str(data.get("group") or ""),
            version=str(data.get("version") or ""),
            kind=str(data.get("kind") or ""),
            namespace=str(data.get("namespace") or ""),
            name=str(data.get("name") or ""),
            status=ResultCode(data["status"]),
            message=str(data.get("message") or ""),
            hook_phase=HookPhase(data["hookPhase"]) if data.get("hookPhase") else None,
            hook_type=enums.HookType(data["hookType"]) if data.get("hookType") else None,
            sync_phase=enums.SyncPhase(data.get("syncPhase") or "Sync"),
        )


def ident_of(task: tasks.SyncTask) -> Ident:
    k = task.key
    return (k.group, k.kind, k.namespace, k.name, task.phase.value)


def result_for(
    task: tasks.SyncTask,
    status: ResultCode,
    message: str = "",
    *,
    phase: HookPhase | None = None,
) -> ResourceResult:
    """A result for ``task``; the executor uses :func:`executed` instead of building its own."""
    k = task.key
    return ResourceResult(k.group, task.version, k.kind, k.namespace, k.name, status, message,
                          phase, task.hook_type, task.phase)  # fmt: skip


def executed(
    task: tasks.SyncTask, *, ok: bool, message: str, dry_run: bool = False
) -> ResourceResult:
    """The result to record after the executor applied or pruned ``task``.

    A successful real apply or prune is ``Running`` until the next step sees the resource
    healthy (or gone); a dry run is finished at once; a failure is ``Failed``.
    """
    if not ok:
        return result_for(task, ResultCode.SYNC_FAILED, message, phase=HookPhase.FAILED)
    status = ResultCode.PRUNED if task.is_prune else ResultCode.SYNCED
    phase = HookPhase.SUCCEEDED if dry_run else HookPhase.RUNNING
    return result_for(task, status, message, phase=phase)


@dataclasses.dataclass(frozen=True)
class OperationRecord:
    """What has been recorded for the operation so far."""

    results: tuple[ResourceResult, ...] = ()

    def by_ident(self) -> dict[Ident, ResourceResult]:
        return {r.ident: r for r in self.results}

    def merged(self, updates: Iterable[ResourceResult]) -> OperationRecord:
        """This record with ``updates`` replacing results of the same resource and phase."""
        current = self.by_ident()
        for result in updates:
            current[result.ident] = result
        return OperationRecord(tuple(current.values()))

    def to_list(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.results]

    @classmethod
    def from_list(cls, data: Iterable[Mapping[str, Any]]) -> OperationRecord:
        return cls(tuple(ResourceResult.from_dict(d) for d in data))
