"""The pure rules of applications in any namespace on the server's side (api/app_namespaces.py):
RBAC objects, hub keys and the project's ``sourceNamespaces`` refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.api import app_namespaces


def _app(namespace: str, name: str = "web", project: str = "team") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"project": project}}


def _project(*source_namespaces: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"sourceRepos": ["*"], "destinations": [{"server": "*"}]}
    if source_namespaces:
        spec["sourceNamespaces"] = list(source_namespaces)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
            "metadata": {"name": "team", "namespace": "argocd"}, "spec": spec}  # fmt: skip


@pytest.mark.parametrize(
    ("namespace", "control", "rbac", "key"),
    [
        ("argocd", "argocd", "team/web", "web"),
        ("team-a", "argocd", "team/team-a/web", "team-a/web"),
        ("team-a", "", "team/web", "team-a/web"),  # no control namespace given: the old form
    ],
)
def test_rbac_object_and_key(namespace: str, control: str, rbac: str, key: str) -> None:
    app = _app(namespace)
    assert app_namespaces.rbac_object(app, control) == rbac
    assert app_namespaces.key(app, control or "argocd") == key


@pytest.mark.parametrize(
    ("namespace", "listed", "refused"),
    [
        ("argocd", (), False),  # the control namespace uses any project
        ("team-a", ("team-a",), False),
        ("team-a", ("team-*",), False),
        ("team-a", ("/^team-[a-z]$/",), False),
        ("team-a", (), True),
        ("other", ("team-*",), True),
    ],
)
def test_project_source_namespaces(namespace: str, listed: tuple[str, ...], refused: bool) -> None:
    found = app_namespaces.project_refusal(_project(*listed), _app(namespace), "argocd")
    assert (found is not None) == refused
    if refused:
        assert found == (
            f"application 'web' in namespace '{namespace}' is not allowed to use project 'team'"
            f" (its sourceNamespaces: {', '.join(listed) or 'none'})"
        )
