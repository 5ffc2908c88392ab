"""Kustomize options as kustomization edits: table over testdata/kustomize_edit_cases.yaml."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.render.conftest import load_table

from tidegate.model import errors
from tidegate.render import kustomize_edit, request

CASES = load_table("kustomize_edit_cases.yaml")


def options_of(raw: dict[str, Any]) -> request.KustomizeOptions:
    fields = dict(raw)
    patches = fields.pop("patches", [])
    for name in ("images", "components"):
        if name in fields:
            fields[name] = tuple(fields[name])
    for name in ("common_labels", "common_annotations"):
        if name in fields:
            fields[name] = tuple(tuple(pair) for pair in fields[name])
    if "replicas" in fields:
        fields["replicas"] = tuple(request.KustomizeReplica(**r) for r in fields["replicas"])
    return request.KustomizeOptions.with_patches(patches, **fields)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_edit(case: dict[str, Any]) -> None:
    original = copy.deepcopy(case["kustomization"])
    edited = kustomize_edit.edit_kustomization(case["kustomization"], options_of(case["options"]))
    assert edited == case["expected"]
    assert case["kustomization"] == original  # input untouched


@pytest.mark.parametrize(
    ("spec", "entry"),
    [
        ("nginx", {"name": "nginx"}),
        ("nginx:1.2", {"name": "nginx", "newTag": "1.2"}),
        ("localhost:5000/nginx", {"name": "localhost:5000/nginx"}),
        (
            "nginx=localhost:5000/nginx:2",
            {"name": "nginx", "newName": "localhost:5000/nginx", "newTag": "2"},
        ),
        ("nginx=nginx:3", {"name": "nginx", "newTag": "3"}),
        ("a@sha256:00", {"name": "a", "digest": "sha256:00"}),
    ],
)
def test_parse_image(spec: str, entry: dict[str, str]) -> None:
    assert kustomize_edit.parse_image(spec) == entry


def test_parse_image_without_name() -> None:
    with pytest.raises(errors.SpecError, match="no image name"):
        kustomize_edit.parse_image("x=:1")


def test_non_list_images_field_is_refused() -> None:
    with pytest.raises(errors.ManifestError, match="images must be a list"):
        kustomize_edit.edit_kustomization(
            {"images": "nginx"}, request.KustomizeOptions(images=("nginx:1",))
        )
