"""``Application.operation``: a requested sync, and the retry policy shared with ``syncPolicy``."""

from __future__ import annotations

import pydantic

from tidegate.model import durations
from tidegate.model.base import WireModel
from tidegate.model.source import ApplicationSource, NameValue


class Backoff(WireModel):
    duration: str | None = None
    factor: int | None = None
    max_duration: str | None = None

    @pydantic.field_validator("duration", "max_duration")
    @classmethod
    def _is_duration(cls, value: str | None) -> str | None:
        return durations.check(value)


class RetryStrategy(WireModel):
    limit: int | None = None
    backoff: Backoff | None = None
    refresh: bool | None = None


class SyncOperationResource(WireModel):
    group: str | None = None
    kind: str
    name: str
    namespace: str | None = None


class SyncStrategyApply(WireModel):
    force: bool | None = None


class SyncStrategy(WireModel):
    apply: SyncStrategyApply | None = None
    hook: SyncStrategyApply | None = None


class SyncOperation(WireModel):
    revision: str | None = None
    revisions: list[str] | None = None
    prune: bool | None = None
    dry_run: bool | None = None
    resources: list[SyncOperationResource] | None = None
    sync_options: list[str] | None = None
    sync_strategy: SyncStrategy | None = None
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] | None = None
    manifests: list[str] | None = None
    self_heal_attempts_count: int | None = pydantic.Field(None, alias="autoHealAttemptsCount")


class OperationInitiator(WireModel):
    username: str | None = None
    automated: bool | None = None


class Operation(WireModel):
    sync: SyncOperation | None = None
    initiated_by: OperationInitiator | None = None
    info: list[NameValue] | None = None
    retry: RetryStrategy | None = None
