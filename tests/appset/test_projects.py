"""Generated Applications their AppProject does not permit are refused (pure)."""

from __future__ import annotations

from typing import Any

from tidegate.appset import projects, status

CLUSTERS = [
    {"name": "dev", "server": "https://dev:6443"},
    {"name": "prod", "server": "https://prod:6443"},
]
PROJECTS = {
    "team-a": {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["https://git.example.com/team-a/*"],
            "destinations": [{"name": "dev", "namespace": "team-a-*"}],
        },
    }
}


def _app(app_name: str, *, project: str = "team-a", repo: str = "team-a/web", **dest: str) -> Any:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": app_name, "namespace": "argocd"},
        "spec": {
            "project": project,
            "source": {"repoURL": f"https://git.example.com/{repo}.git", "path": "."},
            "destination": dest or {"server": "https://dev:6443", "namespace": "team-a-web"},
        },
    }


def test_only_the_apps_the_project_refuses_are_named() -> None:
    desired = [
        _app("ok"),
        _app("by-name", name="dev", namespace="team-a-api"),
        _app("other-repo", repo="team-b/web"),
        _app("prod", server="https://prod:6443", namespace="team-a-web"),
        _app("no-project", project="missing"),
    ]
    refused = projects.refused_applications(
        desired, projects=PROJECTS, clusters=CLUSTERS, control_namespace="argocd"
    )
    assert sorted(refused) == ["no-project", "other-repo", "prod"]
    assert (
        "application repo https://git.example.com/team-b/web.git is not permitted"
        in (refused["other-repo"])
    )
    assert "destination server 'https://prod:6443' and namespace 'team-a-web'" in refused["prod"]
    assert "project missing which does not exist" in refused["no-project"]
    assert all(message.startswith(f"Application '{n}'") for n, message in refused.items())


def test_refused_apps_make_an_application_validation_error() -> None:
    found = status.conditions(status.Outcome(refused=("Application 'x' is not generated: why",)))
    error = next(c for c in found if c["type"] == status.ERROR_OCCURRED)
    assert error["status"] == "True"
    assert error["reason"] == status.REASON_VALIDATION_ERROR
    assert "Application 'x' is not generated: why" in error["message"]
