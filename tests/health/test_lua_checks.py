"""Lua health checks from argocd-cm, judged as Argo CD judges them."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.health import registry
from tidegate.health import status as hs
from tidegate.model.enums import HealthStatusCode as H

# Our own script in the style of the ones Argo CD users write for CRDs with a Ready condition.
CERTIFICATE = """
local hs = {}
if obj.status ~= nil and obj.status.conditions ~= nil then
  for i, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" and condition.status == "False" then
      hs.status = "Degraded"
      hs.message = condition.message
      return hs
    end
    if condition.type == "Ready" and condition.status == "True" then
      hs.status = "Healthy"
      hs.message = condition.message
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
"""

# The opt-in check for child Applications, written from Argo CD's documented behaviour.
APPLICATION = """
hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end
end
return hs
"""


def certificate(*conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web"},
        "status": {"conditions": list(conditions)},
    }


def checks(key: str, script: str) -> registry.HealthChecks:
    found = registry.HealthChecks.from_argocd_cm({f"resource.customizations.health.{key}": script})
    assert found.problems == []
    return found


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"type": "Ready", "status": "True", "message": "issued"}], hs.healthy("issued")),
        ([{"type": "Ready", "status": "False", "message": "expired"}], hs.degraded("expired")),
        ([{"type": "Issuing", "status": "True"}], hs.progressing("Waiting for certificate")),
        ([], hs.progressing("Waiting for certificate")),
    ],
)
def test_certificate_script(conditions: list[dict[str, str]], expected: hs.HealthStatus) -> None:
    assert (
        checks("cert-manager.io_Certificate", CERTIFICATE).assess(certificate(*conditions))
        == expected
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, hs.progressing()),
        ({"health": {"status": "Degraded", "message": "child"}}, hs.degraded("child")),
        ({"health": {"status": "Healthy"}}, hs.healthy()),
    ],
)
def test_application_opt_in(status: dict[str, Any] | None, expected: hs.HealthStatus) -> None:
    child: dict[str, Any] = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"}
    if status is not None:
        child["status"] = status
    assert registry.assess(child) is None  # no health by default (Argo CD >= 1.8)
    assert checks("argoproj.io_Application", APPLICATION).assess(child) == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("return {status = 'Sideways'}", hs.unknown("Lua returned an invalid health status")),
        ("return {message = 'no status'}", hs.unknown("Lua returned an invalid health status")),
        ("return 42", hs.unknown("expect table output, not int")),
        ("return nil", None),  # no health; no built-in check runs either
        ("return {}", None),
        ("obj.status.nothing.here = 1", hs.unknown("attempt to index field 'nothing'")),
        ("while true do end", hs.unknown("instruction limit exceeded")),
        ("os.execute('id')", hs.unknown("attempt to call field 'execute'")),
    ],
)
def test_script_results_and_failures(script: str, expected: hs.HealthStatus | None) -> None:
    key = "resource.customizations.health.PersistentVolumeClaim"
    found = registry.HealthChecks.from_argocd_cm({key: script}).assess(
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}
    )
    if expected is None:
        assert found is None
        return
    assert found is not None and found.status is expected.status
    assert expected.message in found.message
    if expected.status is H.UNKNOWN and "invalid" not in expected.message:
        assert f"Lua script {key}" in found.message  # the error names the argocd-cm key


def test_wildcard_keys_match_the_whole_group_kind() -> None:
    found = registry.HealthChecks.from_argocd_cm(
        {
            "resource.customizations.health.*.crossplane.io_*": "return {status = 'Suspended'}",
            "resource.customizations.health.ec2.crossplane.io_Instance": (
                "return {status = 'Healthy'}"
            ),
        }
    )
    bucket = {"apiVersion": "s3.crossplane.io/v1", "kind": "Bucket"}
    instance = {"apiVersion": "ec2.crossplane.io/v1", "kind": "Instance"}
    other = {"apiVersion": "example.com/v1", "kind": "Bucket"}
    assert found.assess(bucket) == hs.suspended()
    assert found.assess(instance) == hs.healthy()  # an exact key beats a wildcard
    assert found.assess(other) is None


def test_legacy_resource_customizations_map() -> None:
    data = {
        "resource.customizations": (
            "cert-manager.io/Certificate:\n"
            "  health.lua: |\n" + "".join(f"    {line}\n" for line in CERTIFICATE.splitlines())
        )
    }
    found = registry.HealthChecks.from_argocd_cm(data)
    ready = certificate({"type": "Ready", "status": "True", "message": "ok"})
    assert found.assess(ready) == hs.healthy("ok")


def test_lua_overrides_a_builtin_check() -> None:
    found = checks("apps_Deployment", "return {status = 'Suspended', message = 'custom'}")
    assert found.assess({"apiVersion": "apps/v1", "kind": "Deployment"}) == hs.suspended("custom")
