"""Wire names of the analysis kinds, their phases and labels (a leaf module, pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tidegate.model import errors

GROUP: Final = "argoproj.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
RUN_KIND: Final = "AnalysisRun"
TEMPLATE_KIND: Final = "AnalysisTemplate"
CLUSTER_TEMPLATE_KIND: Final = "ClusterAnalysisTemplate"

# Phases of a run, a metric and a measurement (the same six words everywhere).
PENDING: Final = "Pending"
RUNNING: Final = "Running"
SUCCESSFUL: Final = "Successful"
FAILED: Final = "Failed"
ERROR: Final = "Error"
INCONCLUSIVE: Final = "Inconclusive"
COMPLETED: Final = frozenset({SUCCESSFUL, FAILED, ERROR, INCONCLUSIVE})
# The worse of two completed phases wins a run's verdict (Argo Rollouts' order).
SEVERITY: Final = {SUCCESSFUL: 0, INCONCLUSIVE: 1, ERROR: 2, FAILED: 3}

# Labels the Rollout controller puts on the runs it creates.
LABEL_POD_HASH: Final = "rollouts-pod-template-hash"
LABEL_ROLLOUT_TYPE: Final = "rollout-type"
LABEL_STEP_INDEX: Final = "step-index"
TYPE_STEP: Final = "Step"
TYPE_BACKGROUND: Final = "Background"
TYPE_PRE_PROMOTION: Final = "PrePromotion"
TYPE_POST_PROMOTION: Final = "PostPromotion"

DEFAULT_CONSECUTIVE_ERROR_LIMIT: Final = 4
DEFAULT_MEASUREMENT_RETENTION: Final = 10
DEFAULT_ERROR_RETRY_SECONDS: Final = 10.0
TERMINATED_MESSAGE: Final = "Run Terminated"
METRIC_TERMINATED_MESSAGE: Final = "metric terminated"


class AnalysisSpecError(errors.SpecError):
    """An analysis template or run cannot be used as written (the message says which and why)."""


def describe(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` of an analysis object, for messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{obj.get('kind') or TEMPLATE_KIND} {ns + '/' if ns else ''}{meta.get('name') or '?'}"


def completed(phase: object) -> bool:
    return phase in COMPLETED
