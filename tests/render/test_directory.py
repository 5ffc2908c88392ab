"""Directory sources on a real tree: discovery order, recurse, include/exclude, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.render.conftest import names, request

from tidegate import render
from tidegate.model import errors

TOP_LEVEL = [
    "ConfigMap/a-one",
    "ConfigMap/a-two",
    "Service/b-json",
    "ConfigMap/list-one",
    "Deployment/list-two",
]


async def test_top_level_only_by_default(repo: Path) -> None:
    result = await render.render(request(repo, "plain"))
    assert result.source_type == render.SourceType.DIRECTORY
    # lexical file order; multi-doc, JSON and List flattened; .txt/.md ignored
    assert names(result) == TOP_LEVEL


async def test_recurse_walks_depth_first_in_lexical_order(repo: Path) -> None:
    result = await render.render(
        request(repo, "plain", directory=render.DirectoryOptions(recurse=True))
    )
    assert names(result) == [*TOP_LEVEL, "ClusterRole/sub-c", "ConfigMap/deeper-d"]


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ("*.json", "", ["Service/b-json"]),
        ("{a.yaml,sub/deeper/*}", "", ["ConfigMap/a-one", "ConfigMap/a-two", "ConfigMap/deeper-d"]),
        ("", "{list.yaml,sub/*}", ["ConfigMap/a-one", "ConfigMap/a-two", "Service/b-json"]),
        ("*.yaml", "a.yaml", ["ConfigMap/list-one", "Deployment/list-two", "ClusterRole/sub-c"]),
        ("sub/*", "sub/*", []),  # exclude wins
    ],
)
async def test_include_exclude(repo: Path, include: str, exclude: str, expected: list[str]) -> None:
    options = render.DirectoryOptions(recurse=True, include=include, exclude=exclude)
    result = await render.render(request(repo, "plain", directory=options))
    assert names(result) == expected


async def test_empty_directory_renders_nothing(repo: Path) -> None:
    (repo / "empty").mkdir()
    result = await render.render(request(repo, "empty"))
    assert result.objects == ()


async def test_invalid_yaml_names_file_line_and_column(repo: Path) -> None:
    (repo / "plain" / "broken.yaml").write_text("apiVersion: v1\nkind: [\n  x: y: z\n")
    with pytest.raises(errors.ManifestError, match=r"plain/broken\.yaml: invalid YAML at line 3"):
        await render.render(request(repo, "plain"))


async def test_document_without_kind_names_file_and_index(repo: Path) -> None:
    (repo / "plain" / "c.yaml").write_text(
        "apiVersion: v1\nkind: A\n---\napiVersion: v1\nmetadata: {name: x}\n"
    )
    with pytest.raises(
        errors.ManifestError, match=r"plain/c\.yaml: document 2: object has no kind"
    ):
        await render.render(request(repo, "plain"))


async def test_bad_file_in_subdirectory_only_matters_with_recurse(repo: Path) -> None:
    (repo / "plain" / "sub" / "bad.json").write_text("{not json")
    await render.render(request(repo, "plain"))
    with pytest.raises(errors.ManifestError, match=r"plain/sub/bad\.json: invalid JSON"):
        await render.render(request(repo, "plain", directory=render.DirectoryOptions(recurse=True)))


async def test_oversized_file_is_refused(repo: Path) -> None:
    limits = render.RenderLimits(max_file_bytes=1000)
    (repo / "plain" / "big.yaml").write_text("apiVersion: v1\nkind: A\n#" + "x" * 2000 + "\n")
    with pytest.raises(errors.ManifestError, match=r"plain/big\.yaml: file is \d+ bytes, over"):
        await render.render(request(repo, "plain"), limits=limits)


async def test_total_size_limit(repo: Path) -> None:
    limits = render.RenderLimits(max_total_bytes=300)
    with pytest.raises(errors.ManifestError, match="exceeds the limit of 300 bytes in total"):
        await render.render(request(repo, "plain"), limits=limits)


async def test_alias_bomb_file_is_refused(repo: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    (repo / "plain" / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(errors.ManifestError, match=r"plain/bomb\.yaml: document 1: YAML aliases"):
        await render.render(request(repo, "plain"))


async def test_source_path_must_be_a_directory(repo: Path) -> None:
    with pytest.raises(errors.RenderError, match=r"'plain/a\.yaml' is not a directory"):
        await render.render(request(repo, "plain/a.yaml"))
    with pytest.raises(errors.RenderError, match="'nope' is not a directory"):
        await render.render(request(repo, "nope"))


async def test_disabled_extension_filter_lets_include_pick_other_extensions(repo: Path) -> None:
    """argocd's disableExtensionFilter: include/exclude alone select; a file of another
    extension is read as YAML, and one holding no Kubernetes object (a README) is skipped."""
    sealed = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sealed-s}\n"
    (repo / "plain" / "s.yaml.sealed").write_text(sealed)
    (repo / "plain" / "NOTES").write_text("just: notes\n")
    (repo / "plain" / "README.txt").write_text("# not yaml: [\n")
    filtered = render.DirectoryOptions(include="*.sealed")
    assert names(await render.render(request(repo, "plain", directory=filtered))) == []
    only_sealed = render.DirectoryOptions(include="*.sealed", disable_extension_filter=True)
    result = await render.render(request(repo, "plain", directory=only_sealed))
    assert names(result) == ["ConfigMap/sealed-s"]
    everything = render.DirectoryOptions(disable_extension_filter=True)
    result = await render.render(request(repo, "plain", directory=everything))
    assert names(result) == [*TOP_LEVEL, "ConfigMap/sealed-s"]
