"""The real ApplicationSet controller writes no Application its AppProject does not permit: the
set names the refused app and the rule, the permitted apps are written."""

from __future__ import annotations

import pytest

from tidegate.model import constants
from tidegate.testenv import scenario

from .fleet import Fleet, eventually

pytestmark = pytest.mark.e2e


def test_apps_outside_the_project_are_not_generated(fleet_env: Fleet) -> None:
    token = fleet_env.token
    project = f"only-dev-{token}"
    scenario.apply_manifests(
        fleet_env.bed,
        "mgmt",
        [
            {
                "apiVersion": constants.API_VERSION,
                "kind": "AppProject",
                "metadata": {"name": project, "namespace": fleet_env.namespace},
                "spec": {
                    "sourceRepos": ["*"],
                    "destinations": [{"name": "dev", "namespace": "*"}],
                },
            }
        ],
    )
    name = f"proj-set-{token}"
    fleet_env.apply_set(
        {
            "apiVersion": constants.API_VERSION,
            "kind": "ApplicationSet",
            "metadata": {"name": name},
            "spec": {
                "generators": [{"list": {"elements": [{"cluster": "dev"}, {"cluster": "prod"}]}}],
                "template": {
                    "metadata": {"name": f"{{{{cluster}}}}-{token}"},
                    "spec": {
                        "project": project,
                        "source": {
                            "repoURL": "https://git.example.com/unused.git",
                            "path": "app",
                            "targetRevision": "main",
                        },
                        "destination": {"name": "{{cluster}}", "namespace": f"web-{token}"},
                    },
                },
            },
        }
    )
    error = eventually(
        lambda: (
            cond
            if (cond := fleet_env.set_condition(name, "ErrorOccurred"))
            and cond.get("status") == "True"
            else None
        ),
        within=60,
        what="ErrorOccurred on the set",
    )
    assert error["reason"] == "ApplicationValidationError"
    assert f"Application 'prod-{token}' is not generated" in error["message"], error
    assert (
        f"do not match any of the allowed destinations in project '{project}'" in (error["message"])
    )
    eventually(
        lambda: fleet_env.app_exists(f"dev-{token}"), within=60, what="the dev app to be written"
    )
    assert not fleet_env.app_exists(f"prod-{token}")
