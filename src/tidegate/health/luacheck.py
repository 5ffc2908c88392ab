"""Health checks written in Lua (``resource.customizations.health.<group>_<Kind>``), run as
Argo CD runs them (pure; the sandbox is :mod:`tidegate.lua.sandbox`).

The script sees the object as the global ``obj`` and returns a table ``{status=...,
message=...}``. A status that is not one of Argo CD's codes gives Unknown ("Lua returned an
invalid health status"); ``nil`` or an empty table gives no health (the object does not count,
and no built-in check runs); a script error, a broken limit or a non-table result gives Unknown
with the error, naming the argocd-cm key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from tidegate.health import status as hs
from tidegate.lua import sandbox
from tidegate.model.enums import HealthStatusCode

INVALID_STATUS: Final = "Lua returned an invalid health status"

# Returned by a check when the object has no health and no built-in check may run.
NO_HEALTH: Final = hs.HealthStatus(HealthStatusCode.UNKNOWN, "(no health)")


class LuaHealthCheck:
    """A compiled health script. A script that does not compile still makes a check: every
    object of its kind is Unknown with the compile error (as in Argo CD, where the error shows
    when the script runs)."""

    def __init__(self, source: str, *, key: str, limits: sandbox.Limits | None = None) -> None:
        self.key = key
        self.problem = ""
        self._script: sandbox.Script | None = None
        try:
            self._script = sandbox.Script(source, name=key, limits=limits)
        except sandbox.LuaScriptError as exc:
            self.problem = str(exc)

    def __call__(self, obj: Mapping[str, Any]) -> hs.HealthStatus:
        if self._script is None:
            return hs.check_failed(self.problem)
        try:
            result = self._script.run({"obj": obj})
        except sandbox.LuaScriptError as exc:
            return hs.check_failed(str(exc))
        if result is None or result == [] or result == {}:
            return NO_HEALTH
        if not isinstance(result, dict):
            kind = "array" if isinstance(result, list) else type(result).__name__
            return hs.check_failed(f"Lua script {self.key}: expect table output, not {kind}")
        status = str(result.get("status") or "")
        message = result.get("message")
        message = message if isinstance(message, str) else ""
        try:
            code = HealthStatusCode(status)
        except ValueError:
            return hs.unknown(INVALID_STATUS)
        return hs.HealthStatus(code, message)
