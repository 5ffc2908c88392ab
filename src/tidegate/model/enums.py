"""Status enums of Argo CD's dialect: ``str`` enums whose values are the wire values.

This module does no I/O and imports nothing heavy, so any package (and the CLI) may use it.
"""

from __future__ import annotations

import enum


class SyncStatusCode(enum.StrEnum):
    """Whether the live state matches the target state (``status.sync.status``)."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatusCode(enum.StrEnum):
    """The health of a resource or an application (``status.health.status``)."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


class OperationPhase(enum.StrEnum):
    """The phase of an operation (``status.operationState.phase``) or of a hook."""

    RUNNING = "Running"
    TERMINATING = "Terminating"
    FAILED = "Failed"
    ERROR = "Error"
    SUCCEEDED = "Succeeded"

    @property
    def completed(self) -> bool:
        """True once the operation has ended, whatever the outcome."""
        return self in (OperationPhase.FAILED, OperationPhase.ERROR, OperationPhase.SUCCEEDED)


class SyncPhase(enum.StrEnum):
    """The phases a sync runs through, in order."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"


class HookType(enum.StrEnum):
    """Values of the ``argocd.argoproj.io/hook`` annotation."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"
    POST_DELETE = "PostDelete"
    SKIP = "Skip"


class ResultCode(enum.StrEnum):
    """The outcome of syncing one resource (``syncResult.resources[].status``)."""

    SYNCED = "Synced"
    SYNC_FAILED = "SyncFailed"
    PRUNED = "Pruned"
    PRUNE_SKIPPED = "PruneSkipped"


class SyncWindowKind(enum.StrEnum):
    """An AppProject sync window either allows or denies syncs while it is active."""

    ALLOW = "allow"
    DENY = "deny"


class ApplicationsSyncPolicy(enum.StrEnum):
    """What an ApplicationSet may do to the Applications it owns."""

    CREATE_ONLY = "create-only"
    CREATE_UPDATE = "create-update"
    CREATE_DELETE = "create-delete"
    SYNC = "sync"
