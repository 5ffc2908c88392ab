"""Health of a Sealed Secrets ``SealedSecret`` (bitnami.com), as Argo CD's shipped check judges it.

The controller's ``Synced`` condition decides: ``False`` is Degraded with the condition's
message, ``True`` is Healthy with its message; no such condition yet is Progressing. A status
written for an older generation (``observedGeneration`` below ``metadata.generation``) is
Progressing too: the change has not been unsealed yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tidegate.health import fields
from tidegate.health import status as hs

WAITING: Final = "Waiting for Sealed Secret to be decrypted"


def sealedsecret(obj: Mapping[str, Any]) -> hs.HealthStatus:
    observed = fields.dig(obj, "status", "observedGeneration")
    generation = fields.dig(obj, "metadata", "generation")
    if isinstance(observed, int) and isinstance(generation, int) and observed < generation:
        return hs.progressing(WAITING)
    for condition in fields.items(obj, "status", "conditions"):
        if condition.get("type") != "Synced":
            continue
        message = str(condition.get("message") or "")
        if condition.get("status") == "False":
            return hs.degraded(message)
        if condition.get("status") == "True":
            return hs.healthy(message)
    return hs.progressing(WAITING)
