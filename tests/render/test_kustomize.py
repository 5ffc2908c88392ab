"""Kustomize sources through the real binary (kustomize, or kubectl kustomize)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from tests.render.conftest import names, real, request, write_script

from tidegate import render
from tidegate.model import errors


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def set_modes(root: Path, *, directories: int, files: int) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        path.chmod(directories if path.is_dir() else files)


def by_kind(result: render.RenderResult, kind: str) -> dict[str, object]:
    return next(o for o in result.objects if o["kind"] == kind)


async def test_base_and_overlay(repo: Path, tools: render.Tools) -> None:
    result = await render.render(request(repo, "kustomize/overlay"), found=tools)
    assert result.source_type == render.SourceType.KUSTOMIZE
    assert sorted(names(result)) == ["Deployment/staging-web", "Service/staging-web"]
    deployment = by_kind(result, "Deployment")
    assert deployment["spec"]["replicas"] == 2  # type: ignore[index]


async def test_options_are_applied_without_touching_the_tree(
    repo: Path, tools: render.Tools
) -> None:
    before = tree_digest(repo)
    options = render.KustomizeOptions.with_patches(
        [
            {
                "target": {"kind": "Service"},
                "patch": "- op: add\n  path: /spec/sessionAffinity\n  value: ClientIP",
            }
        ],
        images=("nginx=registry.local/nginx:1.27",),
        name_prefix="prod-",
        name_suffix="-v2",
        common_labels=(("team", "payments"),),
        common_annotations=(("owner", "platform"),),
        namespace="prod",
        replicas=(render.KustomizeReplica("web", 5),),
    )
    result = await render.render(request(repo, "kustomize/overlay", kustomize=options), found=tools)
    assert sorted(names(result)) == ["Deployment/prod-web-v2", "Service/prod-web-v2"]
    deployment = by_kind(result, "Deployment")
    spec = deployment["spec"]  # type: ignore[index]
    meta = deployment["metadata"]  # type: ignore[index]
    assert spec["template"]["spec"]["containers"][0]["image"] == "registry.local/nginx:1.27"
    assert spec["replicas"] == 5
    assert spec["selector"]["matchLabels"]["team"] == "payments"  # commonLabels semantics
    assert meta["namespace"] == "prod"
    assert meta["labels"]["team"] == "payments"
    assert meta["annotations"]["owner"] == "platform"
    service = by_kind(result, "Service")
    assert service["spec"]["sessionAffinity"] == "ClientIP"  # type: ignore[index]
    assert tree_digest(repo) == before


async def test_name_prefix_replaces_the_overlays_own(repo: Path, tools: render.Tools) -> None:
    # as `kustomize edit set nameprefix` in Argo CD: the overlay's "staging-" is replaced
    options = render.KustomizeOptions(name_prefix="prod-")
    result = await render.render(request(repo, "kustomize/overlay", kustomize=options), found=tools)
    assert sorted(names(result)) == ["Deployment/prod-web", "Service/prod-web"]


async def test_options_on_a_read_only_tree(repo: Path, tools: render.Tools) -> None:
    set_modes(repo, directories=0o555, files=0o444)
    try:
        options = render.KustomizeOptions(images=("nginx:1.27",))
        result = await render.render(
            request(repo, "kustomize/overlay", kustomize=options), found=tools
        )
        assert "Deployment/staging-web" in names(result)
        text = (repo / "kustomize" / "overlay" / "kustomization.yaml").read_text()
        assert "images" not in text
    finally:
        set_modes(repo, directories=0o755, files=0o644)


async def test_kustomization_yml_and_components(repo: Path, tools: render.Tools) -> None:
    component = repo / "kustomize" / "component"
    component.mkdir()
    (component / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "commonAnnotations: {from-component: 'true'}\n"
    )
    overlay = repo / "kustomize" / "overlay"
    (overlay / "kustomization.yaml").rename(overlay / "kustomization.yml")
    options = render.KustomizeOptions(components=("../component",))
    result = await render.render(request(repo, "kustomize/overlay", kustomize=options), found=tools)
    for obj in result.objects:
        assert obj["metadata"]["annotations"]["from-component"] == "true"


async def test_component_outside_the_repo(repo: Path, tools: render.Tools) -> None:
    options = render.KustomizeOptions(components=("../../../elsewhere",))
    with pytest.raises(errors.PathEscapeError, match="kustomize component"):
        await render.render(request(repo, "kustomize/overlay", kustomize=options), found=tools)


async def test_kustomize_failure_shows_stderr(repo: Path, tools: render.Tools) -> None:
    (repo / "kustomize" / "overlay" / "kustomization.yaml").write_text(
        "resources: [../base, missing.yaml]\n"
    )
    with pytest.raises(errors.RenderError) as info:
        await render.render(request(repo, "kustomize/overlay"), found=tools)
    message = str(info.value)
    assert message.startswith("kustomize build kustomize/overlay: failed with exit code 1:")
    assert "missing.yaml" in message
    assert str(real(repo)) not in message  # checkout location replaced by <repo>


async def test_kustomize_timeout_kills_the_build(
    repo: Path, tools: render.Tools, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    slow = write_script(tmp_path / "slow-kustomize", f"echo $$ > {pid_file}\nexec sleep 60\n")
    found = render.Tools(kustomize_build=(str(slow), "build"), helm=tools.helm)
    started = time.monotonic()
    with pytest.raises(errors.RenderTimeoutError, match=r"did not finish within 0\.5s"):
        await render.render(
            request(repo, "kustomize/overlay"),
            found=found,
            limits=render.RenderLimits(timeout_seconds=0.5),
        )
    assert time.monotonic() - started < 10


async def test_no_kustomize_binary(repo: Path) -> None:
    with pytest.raises(errors.RenderError, match="no kustomize or kubectl binary"):
        await render.render(
            request(repo, "kustomize/overlay"), found=render.Tools(kustomize_build=None, helm=None)
        )


async def test_options_with_a_base_reached_through_a_symlink(
    repo: Path, tools: render.Tools
) -> None:
    # options alone rewrite only the app's kustomization: a symlinked way to a base still works
    (repo / "kustomize" / "linked").symlink_to("base", target_is_directory=True)
    (repo / "kustomize" / "overlay" / "kustomization.yaml").write_text(
        "resources:\n- ../linked\nnamePrefix: staging-\n"
    )
    options = render.KustomizeOptions(name_prefix="prod-")
    result = await render.render(request(repo, "kustomize/overlay", kustomize=options), found=tools)
    assert sorted(names(result)) == ["Deployment/prod-web", "Service/prod-web"]
