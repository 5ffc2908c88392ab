"""``HealthStatus`` and how statuses combine into an application's health."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Final

from tidegate.model.enums import HealthStatusCode

# Best first, worst last, as Argo CD orders them when it picks an application's health.
ORDER: Final = (
    HealthStatusCode.HEALTHY,
    HealthStatusCode.SUSPENDED,
    HealthStatusCode.PROGRESSING,
    HealthStatusCode.MISSING,
    HealthStatusCode.DEGRADED,
    HealthStatusCode.UNKNOWN,
)
_RANK: Final = {code: rank for rank, code in enumerate(ORDER)}


@dataclasses.dataclass(frozen=True, slots=True)
class HealthStatus:
    """The health of one object: a status code and a human-readable reason."""

    status: HealthStatusCode
    message: str = ""
    # True when an argocd-cm custom check failed to run (a Lua error, a broken limit): the
    # message names the key; the app reports it as a CustomHealthCheckWarning condition.
    check_error: bool = dataclasses.field(default=False, compare=False)

    def to_dict(self) -> dict[str, str]:
        """The wire form used in ``status.resources[].health``."""
        out = {"status": self.status.value}
        if self.message:
            out["message"] = self.message
        return out


def healthy(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.HEALTHY, message)


def progressing(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.PROGRESSING, message)


def degraded(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.DEGRADED, message)


def suspended(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.SUSPENDED, message)


def unknown(message: str = "") -> HealthStatus:
    return HealthStatus(HealthStatusCode.UNKNOWN, message)


def check_failed(message: str) -> HealthStatus:
    """Unknown because a custom check failed to run (``message`` says why, naming the key)."""
    return HealthStatus(HealthStatusCode.UNKNOWN, message, check_error=True)


def is_worse(current: HealthStatusCode, new: HealthStatusCode) -> bool:
    """True if ``new`` is worse than ``current``."""
    return _RANK[new] > _RANK[current]


def aggregate(
    statuses: Iterable[HealthStatus | HealthStatusCode | None],
) -> HealthStatusCode:
    """The worst of the given statuses; objects without health (``None``) do not count.

    An application with no resource that has health is Healthy, as in Argo CD.
    """
    worst = HealthStatusCode.HEALTHY
    for item in statuses:
        if item is None:
            continue
        code = item.status if isinstance(item, HealthStatus) else HealthStatusCode(item)
        if is_worse(worst, code):
            worst = code
    return worst
