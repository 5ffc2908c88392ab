"""Nothing a render reads may come from outside the repository tree."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.render.conftest import names, real, request

from tidegate import render
from tidegate.model import errors
from tidegate.render import helm


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the repository holding a perfectly valid manifest."""
    target = tmp_path / "outside"
    target.mkdir()
    (target / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n")
    return target


@pytest.mark.parametrize("path", ["..", "../outside", "plain/../../outside", "plain/../.."])
async def test_source_path_escaping_with_dotdot(repo: Path, outside: Path, path: str) -> None:
    with pytest.raises(errors.PathEscapeError, match="resolves outside the repository"):
        await render.render(request(repo, path))


async def test_dotdot_that_stays_inside_is_fine(repo: Path) -> None:
    result = await render.render(request(repo, "plain/sub/../sub"))
    assert names(result) == ["ClusterRole/sub-c"]


async def test_absolute_source_path(repo: Path, outside: Path) -> None:
    with pytest.raises(errors.PathEscapeError, match="is absolute"):
        await render.render(request(repo, str(outside)))


async def test_source_path_through_symlinked_dir_outside(repo: Path, outside: Path) -> None:
    (repo / "link").symlink_to(outside)
    with pytest.raises(errors.PathEscapeError, match="'link' resolves outside"):
        await render.render(request(repo, "link"))


async def test_symlinked_file_outside(repo: Path, outside: Path) -> None:
    (repo / "plain" / "z.yaml").symlink_to(outside / "secret.yaml")
    with pytest.raises(errors.PathEscapeError, match=r"symlink 'plain/z\.yaml' points outside"):
        await render.render(request(repo, "plain"))


async def test_symlinked_file_with_other_extension_outside(repo: Path, outside: Path) -> None:
    (repo / "plain" / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(errors.PathEscapeError, match="symlink 'plain/passwd' points outside"):
        await render.render(request(repo, "plain"))


@pytest.mark.parametrize("recurse", [False, True])
async def test_symlinked_dir_outside(repo: Path, outside: Path, recurse: bool) -> None:
    (repo / "plain" / "sub" / "evil").symlink_to(outside, target_is_directory=True)
    options = render.DirectoryOptions(recurse=True)
    with pytest.raises(errors.PathEscapeError, match="symlink 'plain/sub/evil' points outside"):
        await render.render(request(repo, "plain" if recurse else "plain/sub", directory=options))


async def test_symlinks_inside_the_repo_are_followed_for_files_only(repo: Path) -> None:
    (repo / "plain" / "alias.yaml").symlink_to(repo / "plain" / "sub" / "c.yaml")
    (repo / "plain" / "subdir-link").symlink_to(repo / "plain" / "sub", target_is_directory=True)
    result = await render.render(
        request(repo, "plain", directory=render.DirectoryOptions(recurse=True))
    )
    # the file symlink is read; the directory symlink is not descended (no duplicates)
    assert names(result).count("ClusterRole/sub-c") == 2
    assert names(result).count("ConfigMap/deeper-d") == 1


async def test_dangling_symlink_outside(repo: Path) -> None:
    (repo / "plain" / "gone.yaml").symlink_to("/nonexistent/gone.yaml")
    with pytest.raises(errors.PathEscapeError, match="points outside"):
        await render.render(request(repo, "plain"))


@pytest.mark.parametrize(
    ("value_file", "message"),
    [
        ("../../../outside/secret.yaml", "'../../../outside/secret.yaml' resolves outside"),
        ("../../..", "resolves outside the repository"),
        ("/etc/passwd", "Helm value file '/etc/passwd' is absolute"),
    ],
)
async def test_helm_value_file_escaping(
    repo: Path, outside: Path, tools: render.Tools, value_file: str, message: str
) -> None:
    req = request(repo, "helm/chart", helm=render.HelmOptions(value_files=(value_file,)))
    with pytest.raises(errors.PathEscapeError, match=message):
        await render.render(req, found=tools)


async def test_helm_value_file_symlinked_outside(
    repo: Path, outside: Path, tools: render.Tools
) -> None:
    (repo / "helm" / "chart" / "escape.yaml").symlink_to(outside / "secret.yaml")
    req = request(repo, "helm/chart", helm=render.HelmOptions(value_files=("escape.yaml",)))
    with pytest.raises(errors.PathEscapeError, match=r"'helm/chart/escape\.yaml' points outside"):
        await render.render(req, found=tools)
    # and the check on the value file itself, independent of the tree scan
    with pytest.raises(errors.PathEscapeError, match=r"'escape\.yaml' resolves outside"):
        root = real(repo)
        helm.value_file_paths(root, root / "helm" / "chart", req.helm)


async def test_kustomize_resource_escaping(repo: Path, outside: Path, tools: render.Tools) -> None:
    (outside / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (repo / "kustomize" / "base" / "kustomization.yaml").write_text(
        "resources: [deployment.yaml, ../../../outside]\n"
    )
    with pytest.raises(
        errors.PathEscapeError,
        match=r"app demo: kustomize/base/kustomization\.yaml: "
        r"resources\[1\] '\.\./\.\./\.\./outside' resolves outside",
    ):
        await render.render(request(repo, "kustomize/overlay"), found=tools)


async def test_kustomize_absolute_resource(repo: Path, outside: Path, tools: render.Tools) -> None:
    (outside / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (repo / "kustomize" / "base" / "kustomization.yaml").write_text(f"resources: [{outside}]\n")
    with pytest.raises(errors.ReferenceRefusedError, match="absolute paths are refused"):
        await render.render(request(repo, "kustomize/base"), found=tools)


@pytest.mark.parametrize("path", ["kustomize/overlay", "helm/chart"])
async def test_tree_with_escaping_symlink_refused_for_binaries(
    repo: Path, outside: Path, tools: render.Tools, path: str
) -> None:
    # kustomize and helm follow symlinks themselves, so the whole tree is checked first
    (repo / "elsewhere").mkdir()
    (repo / "elsewhere" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(errors.PathEscapeError, match="symlink 'elsewhere/link' points outside"):
        await render.render(request(repo, path), found=tools)
