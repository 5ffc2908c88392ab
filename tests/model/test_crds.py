"""The packaged CRDs are structurally valid and named as Argo CD's; the install objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import application, base, crds, project

SEED = Path(__file__).parent / "testdata" / "valid"
NAMES = {
    "applications.argoproj.io": ("Application", "application", ["app", "apps"]),
    "applicationsets.argoproj.io": ("ApplicationSet", "applicationset", ["appset", "appsets"]),
    "appprojects.argoproj.io": ("AppProject", "appproject", ["appproj", "appprojs"]),
}


def _schema_nodes(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _schema_nodes(child, f"{path}.{name}")
    if "items" in node:
        yield from _schema_nodes(node["items"], f"{path}[]")


def _by_name() -> dict[str, dict[str, Any]]:
    return {crd["metadata"]["name"]: crd for crd in crds.load()}


def test_names_scope_and_versions() -> None:
    loaded = _by_name()
    assert set(loaded) == set(NAMES)
    for name, (kind, singular, short) in NAMES.items():
        crd = loaded[name]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert crd["kind"] == "CustomResourceDefinition"
        spec = crd["spec"]
        assert spec["group"] == "argoproj.io"
        assert spec["scope"] == "Namespaced"
        assert spec["names"]["kind"] == kind
        assert spec["names"]["listKind"] == f"{kind}List"
        assert spec["names"]["singular"] == singular
        assert spec["names"]["plural"] == name.split(".")[0]
        assert spec["names"]["shortNames"] == short
        (version,) = spec["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_schema_is_structural(name: str) -> None:
    """Every node has a type (or preserves unknown fields); unknown fields survive under spec."""
    (version,) = _by_name()[name]["spec"]["versions"]
    root = version["schema"]["openAPIV3Schema"]
    assert root["type"] == "object"
    for path, node in _schema_nodes(root, "<root>"):
        assert node.get("type") in {"object", "array", "string", "integer", "boolean", "number"}, (
            path
        )
        if node["type"] == "array":
            assert "items" in node, path
        for key in node:
            assert key in {
                "type",
                "properties",
                "items",
                "required",
                "description",
                "format",
                "x-kubernetes-preserve-unknown-fields",
            }, f"{path}: unexpected schema key {key}"
        for required in node.get("required", []):
            assert required in node.get("properties", {}), f"{path}: {required} not a property"
    for part in ("spec", "status"):
        assert root["properties"][part]["x-kubernetes-preserve-unknown-fields"] is True


def test_status_subresource_as_argo_cd() -> None:
    versions = {name: crd["spec"]["versions"][0] for name, crd in _by_name().items()}
    # The controller writes an Application's status (and operation) with a plain update.
    assert "subresources" not in versions["applications.argoproj.io"]
    assert versions["applicationsets.argoproj.io"]["subresources"] == {"status": {}}
    columns = versions["applications.argoproj.io"]["additionalPrinterColumns"]
    assert [(c["name"], c["jsonPath"]) for c in columns[:2]] == [
        ("Sync Status", ".status.sync.status"),
        ("Health Status", ".status.health.status"),
    ]


def test_seed_manifests_fit_the_schema_required_fields() -> None:
    (version,) = _by_name()["applications.argoproj.io"]["spec"]["versions"]
    root = version["schema"]["openAPIV3Schema"]
    seed = yaml.safe_load((SEED / "application-seed.yaml").read_text())
    assert set(root["required"]) <= set(seed)
    assert set(root["properties"]["spec"]["required"]) <= set(seed["spec"])


def test_install_manifests() -> None:
    objects = crds.install_manifests("tidegate-system")
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "Namespace",
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "AppProject",
    ]
    assert objects[0]["metadata"]["name"] == "tidegate-system"
    sa, role, binding, default = objects[4:]
    assert sa["metadata"] == {
        "name": "tidegate-controller",
        "namespace": "tidegate-system",
        "labels": sa["metadata"]["labels"],
    }
    assert role["metadata"]["name"] == "tidegate-controller"
    assert binding["roleRef"]["name"] == "tidegate-controller"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tidegate-controller", "namespace": "tidegate-system"}
    ]
    proj = project.parse_project(default)
    assert base.dump(proj) == default
    assert proj.name == "default" and proj.metadata.namespace == "tidegate-system"
    assert proj.spec.source_repos == ["*"]
    assert proj.spec.destinations is not None
    assert (proj.spec.destinations[0].server, proj.spec.destinations[0].namespace) == ("*", "*")
    assert proj.spec.cluster_resource_whitelist is not None
    assert proj.spec.cluster_resource_whitelist[0].group == "*"


def test_install_manifests_default_namespace_and_fresh_copies() -> None:
    first = crds.install_manifests()
    assert first[0]["metadata"]["name"] == "argocd"
    first[1]["spec"]["group"] = "mutated"
    assert crds.install_manifests()[1]["spec"]["group"] == "argoproj.io"


def test_model_parses_what_the_crd_accepts() -> None:
    seed = yaml.safe_load((SEED / "application-seed.yaml").read_text())
    assert application.parse_application(seed).spec.project == "default"
