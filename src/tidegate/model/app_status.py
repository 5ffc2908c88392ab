"""``Application.status``: sync and health, the operation state, history, resources, conditions."""

from __future__ import annotations

from typing import Any

import pydantic

from tidegate.model.base import WireModel
from tidegate.model.enums import (
    HealthStatusCode,
    HookType,
    OperationPhase,
    ResultCode,
    SyncPhase,
    SyncStatusCode,
)
from tidegate.model.operation import Operation, OperationInitiator
from tidegate.model.source import ApplicationSource


class HealthStatus(WireModel):
    status: HealthStatusCode | None = None
    message: str | None = None
    last_transition_time: str | None = None


class ComparedTo(WireModel):
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] | None = None
    destination: dict[str, Any] | None = None
    ignore_differences: list[dict[str, Any]] | None = None


class SyncStatus(WireModel):
    status: SyncStatusCode = SyncStatusCode.UNKNOWN
    revision: str | None = None
    revisions: list[str] | None = None
    compared_to: ComparedTo | None = None


class ResourceResult(WireModel):
    """What happened to one resource during a sync."""

    group: str | None = None
    version: str | None = None
    kind: str
    namespace: str | None = None
    name: str
    status: ResultCode | None = None
    message: str | None = None
    hook_type: HookType | None = None
    hook_phase: OperationPhase | None = None
    sync_phase: SyncPhase | None = None
    images: list[str] | None = None


class SyncOperationResult(WireModel):
    resources: list[ResourceResult] | None = None
    revision: str | None = None
    revisions: list[str] | None = None
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] | None = None
    managed_namespace_metadata: dict[str, Any] | None = None


class OperationState(WireModel):
    operation: Operation
    phase: OperationPhase
    message: str | None = None
    sync_result: SyncOperationResult | None = None
    started_at: str | None = None
    finished_at: str | None = None
    retry_count: int | None = None


class RevisionHistory(WireModel):
    id: int
    revision: str | None = None
    revisions: list[str] | None = None
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] | None = None
    deployed_at: str | None = None
    deploy_started_at: str | None = None
    initiated_by: OperationInitiator | None = None


class ApplicationCondition(WireModel):
    type: str
    message: str | None = None
    last_transition_time: str | None = None


class ResourceStatus(WireModel):
    """One resource the application manages, as listed in ``status.resources``."""

    group: str | None = None
    version: str | None = None
    kind: str
    namespace: str | None = None
    name: str
    status: SyncStatusCode | None = None
    health: HealthStatus | None = None
    hook: bool | None = None
    requires_pruning: bool | None = None
    requires_deletion_confirmation: bool | None = None
    sync_wave: int | None = None


class ApplicationSummary(WireModel):
    external_urls: list[str] | None = pydantic.Field(None, alias="externalURLs")
    images: list[str] | None = None


class ApplicationStatus(WireModel):
    sync: SyncStatus | None = None
    health: HealthStatus | None = None
    operation_state: OperationState | None = None
    history: list[RevisionHistory] | None = None
    conditions: list[ApplicationCondition] | None = None
    resources: list[ResourceStatus] | None = None
    summary: ApplicationSummary | None = None
    reconciled_at: str | None = None
    observed_at: str | None = None
    source_type: str | None = None
    source_types: list[str] | None = None
    controller_namespace: str | None = None
