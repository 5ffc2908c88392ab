"""Wire names of Argo Rollouts: labels, annotations, reasons, condition types (a leaf module)."""

from __future__ import annotations

from typing import Final

GROUP: Final = "argoproj.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "Rollout"
ANALYSIS_RUN: Final = "AnalysisRun"
ANALYSIS_TEMPLATE: Final = "AnalysisTemplate"
CLUSTER_ANALYSIS_TEMPLATE: Final = "ClusterAnalysisTemplate"

POD_HASH_LABEL: Final = "rollouts-pod-template-hash"
MANAGED_BY: Final = "argo-rollouts.argoproj.io/managed-by-rollouts"
REVISION: Final = "rollout.argoproj.io/revision"
DESIRED_REPLICAS: Final = "rollout.argoproj.io/desired-replicas"
SCALE_DOWN_DEADLINE: Final = "scale-down-deadline"
WORKLOAD_GENERATION: Final = "rollout.argoproj.io/workload-generation"
RESTARTED_AFTER: Final = "argo-rollouts.argoproj.io/restarted-after"
ROLLOUT_TYPE_LABEL: Final = "rollout-type"
STEP_INDEX_LABEL: Final = "step-index"
FIELD_MANAGER: Final = "rollouts-controller"

# status.phase
PHASE_HEALTHY: Final = "Healthy"
PHASE_PROGRESSING: Final = "Progressing"
PHASE_PAUSED: Final = "Paused"
PHASE_DEGRADED: Final = "Degraded"

# pauseConditions[].reason
PAUSE_CANARY: Final = "CanaryPauseStep"
PAUSE_BLUEGREEN: Final = "BlueGreenPause"
PAUSE_INCONCLUSIVE: Final = "InconclusiveAnalysisRun"

# conditions[].type
COND_INVALID_SPEC: Final = "InvalidSpec"
COND_AVAILABLE: Final = "Available"
COND_PROGRESSING: Final = "Progressing"
COND_PAUSED: Final = "Paused"
COND_COMPLETED: Final = "Completed"
COND_HEALTHY: Final = "Healthy"

# conditions[].reason
REASON_ABORTED: Final = "RolloutAborted"
REASON_DEADLINE: Final = "ProgressDeadlineExceeded"
REASON_NEW_RS: Final = "NewReplicaSetAvailable"
REASON_UPDATED: Final = "ReplicaSetUpdated"
REASON_PAUSED: Final = "RolloutPaused"
REASON_RESUMED: Final = "RolloutResumed"
REASON_INVALID: Final = "InvalidSpec"
REASON_AVAILABLE: Final = "AvailableReason"
REASON_NOT_AVAILABLE: Final = "AvailableReason"
REASON_COMPLETED: Final = "RolloutCompleted"
REASON_HEALTHY: Final = "RolloutHealthy"

# AnalysisRun phases
RUN_SUCCESSFUL: Final = "Successful"
RUN_FAILED: Final = "Failed"
RUN_ERROR: Final = "Error"
RUN_INCONCLUSIVE: Final = "Inconclusive"
