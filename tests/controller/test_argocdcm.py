"""argocd-cm system settings: global ignoreDifferences and custom health rules."""

from __future__ import annotations

from typing import Any

from tidegate.controller import argocdcm
from tidegate.model.enums import HealthStatusCode
from tidegate.model.keys import ResourceKey

IGNORE = "resource.customizations.ignoreDifferences."
HEALTH = "resource.customizations.health."


def _configured(system: argocdcm.SystemSettings) -> list[Any]:
    """The rules argocd-cm configured (without the built-in workload-controller rules)."""
    return [r for r in system.ignore_rules if r not in argocdcm.WORKLOAD_CONTROLLER_RULES]


def test_ignore_differences_per_kind_and_all() -> None:
    system = argocdcm.parse(
        {
            IGNORE + "apps_Deployment": "jsonPointers:\n- /spec/replicas\n",
            IGNORE + "all": "managedFieldsManagers:\n- kube-controller-manager\n",
            "url": "https://unrelated",
        }
    )
    assert system.problems == ()
    deployment = ResourceKey("apps", "Deployment", "ns", "web")
    config_map = ResourceKey("", "ConfigMap", "ns", "cm")
    by_kind = [r for r in system.ignore_rules if r.json_pointers]
    assert by_kind and by_kind[0].matches(deployment) and not by_kind[0].matches(config_map)
    everything = [r for r in system.ignore_rules if r.managed_fields_managers]
    assert everything[0].matches(deployment) and everything[0].matches(config_map)


def test_bad_entries_are_reported_and_others_still_apply() -> None:
    system = argocdcm.parse(
        {
            IGNORE + "apps_Deployment": "jsonPointers: [/ok]\n",
            IGNORE + "_ConfigMap": "jsonPointers: [no-slash]\n",
            IGNORE + "batch_Job": "- not a mapping\n",
        }
    )
    assert len(_configured(system)) == 1
    assert len(system.problems) == 2
    assert all("argocd-cm resource.customizations.ignoreDifferences." in p for p in system.problems)


def test_custom_health_rules_and_lua() -> None:
    rules = (
        "rules:\n- when: {path: status.phase, equals: Ready}\n  status: Healthy\n"
        "default: {status: Progressing}\n"
    )
    system = argocdcm.parse({HEALTH + "example.com_Widget": rules})
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "status": {"phase": "Ready"},
    }
    found = system.health_checks.assess(widget)
    assert found is not None and found.status is HealthStatusCode.HEALTHY
    lua = argocdcm.parse(
        {HEALTH + "example.com_Widget": "hs = {}\nhs.status = 'Degraded'\nreturn hs\n"}
    )
    assert lua.problems == ()
    found = lua.health_checks.assess(widget)
    assert found is not None and found.status is HealthStatusCode.DEGRADED


def test_legacy_resource_customizations_map_feeds_every_customization() -> None:
    system = argocdcm.parse(
        {
            "resource.customizations": (
                "apps/Deployment:\n"
                "  ignoreDifferences: |\n    jsonPointers: [/spec/replicas]\n"
                "  health.lua: return {status = 'Suspended'}\n"
                "  actions: |\n    discovery.lua: return {restart = {}}\n"
            ),
            "resource.customizations.health.example.com_Broken": "return {",
        }
    )
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    [rule] = _configured(system)
    assert rule.json_pointers == ("/spec/replicas",)
    assert rule.matches(ResourceKey("apps", "Deployment", "ns", "d"))
    found = system.health_checks.assess(deployment)
    assert found is not None and found.status is HealthStatusCode.SUSPENDED
    assert [a.name for a in system.actions.list(deployment)] == ["restart"]
    assert system.problems == (
        "argocd-cm Lua script resource.customizations.health.example.com_Broken: "
        "line 1: unexpected symbol near <eof>",
    )
