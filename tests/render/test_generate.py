"""Source type detection and the render entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.render.conftest import names, request

from tidegate import render


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ([], render.SourceType.DIRECTORY),
        (["a.yaml"], render.SourceType.DIRECTORY),
        (["Chart.yaml"], render.SourceType.HELM),
        (["kustomization.yaml"], render.SourceType.KUSTOMIZE),
        (["kustomization.yml"], render.SourceType.KUSTOMIZE),
        (["Kustomization"], render.SourceType.KUSTOMIZE),
        (["Chart.yaml", "kustomization.yaml"], render.SourceType.KUSTOMIZE),
    ],
)
def test_detect_source_type(tmp_path: Path, files: list[str], expected: str) -> None:
    for name in files:
        (tmp_path / name).write_text("")
    assert render.detect_source_type(tmp_path) == expected


async def test_explicit_source_type_skips_detection(repo: Path) -> None:
    # a chart directory rendered as plain files: its values files are not manifests
    req = request(repo, "helm/chart/crds", source_type=render.SourceType.DIRECTORY)
    result = await render.render(req)
    assert names(result) == ["CustomResourceDefinition/widgets.example.com"]


async def test_repo_root_as_source_path(repo: Path) -> None:
    (repo / "root.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: r}\n")
    for path in ("", "."):
        assert names(await render.render(request(repo, path))) == ["Namespace/r"]


async def test_copy_objects_is_independent(repo: Path) -> None:
    cache = render.RenderCache()
    result = await render.render(request(repo, "plain", commit="c"), cache=cache)
    copies = result.copy_objects()
    copies[0]["metadata"]["name"] = "changed"
    assert result.objects[0]["metadata"]["name"] == "a-one"
    assert copies[1] == result.objects[1] and copies[1] is not result.objects[1]
