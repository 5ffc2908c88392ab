"""argocd-cm resource customizations: per-type keys, the legacy map, problems."""

from __future__ import annotations

from tidegate.model import overrides


def test_split_keys_and_legacy_map_merge_field_by_field() -> None:
    found, problems = overrides.parse(
        {
            "resource.customizations": (
                "apps/Deployment:\n"
                "  health.lua: return {status = 'Healthy'}\n"
                "  ignoreDifferences: |\n    jsonPointers: [/spec/replicas]\n"
                "  knownTypeFields:\n  - {field: spec.template.spec, type: core/v1/PodSpec}\n"
            ),
            "resource.customizations.health.apps_Deployment": "return {status = 'Degraded'}",
            "resource.customizations.useOpenLibs.apps_Deployment": "true",
            "resource.customizations.ignoreDifferences.all": "managedFieldsManagers: [kcm]",
            "resource.customizations.actions.ConfigMap": "discovery.lua: return {}",
            "resource.customizations.other.unrelated": "x",
        }
    )
    assert problems == []
    deployment = found["apps/Deployment"]
    assert deployment.health == "return {status = 'Degraded'}"  # the per-type key wins
    assert deployment.health_source == "resource.customizations.health.apps_Deployment"
    assert deployment.use_open_libs is True
    assert deployment.ignore_differences == {"jsonPointers": ["/spec/replicas"]}
    assert deployment.known_type_fields == (
        {"field": "spec.template.spec", "type": "core/v1/PodSpec"},
    )
    assert found["*/*"].ignore_differences == {"managedFieldsManagers": ["kcm"]}
    assert found["ConfigMap"].actions == "discovery.lua: return {}"


def test_problems_name_the_key() -> None:
    _, problems = overrides.parse(
        {
            "resource.customizations": "apps/Deployment:\n  health.luaa: x\n",
            "resource.customizations.health.a_b_c": "return {}",
            "resource.customizations.useOpenLibs.apps_Deployment": "maybe",
            "resource.customizations.knownTypeFields.apps_Deployment": "- {field: 1}",
            "resource.customizations.ignoreDifferences.apps_Deployment": "- a list",
        }
    )
    assert problems == [
        "argocd-cm resource.customizations apps/Deployment: unknown field 'health.luaa'",
        "argocd-cm resource.customizations.health.a_b_c: expected "
        "resource.customizations.health.<group>_<Kind> or resource.customizations.health.<Kind>",
        "argocd-cm resource.customizations.ignoreDifferences.apps_Deployment: expected a map "
        "(jsonPointers, jqPathExpressions, managedFieldsManagers)",
        "argocd-cm resource.customizations.knownTypeFields.apps_Deployment: expected a list of "
        "{field, type}",
        "argocd-cm resource.customizations.useOpenLibs.apps_Deployment: expected true or false, "
        "got 'maybe'",
    ]
