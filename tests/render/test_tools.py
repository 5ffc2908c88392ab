"""Binary discovery order."""

from __future__ import annotations

from pathlib import Path

from tests.render.conftest import write_script

from tidegate.render import tools


def test_environment_overrides(tmp_path: Path) -> None:
    found = tools.discover(
        environ={"PATH": "", "TIDEGATE_HELM": "/x/helm", "TIDEGATE_KUSTOMIZE": "/x/kustomize"},
        cache_dir=tmp_path,
    )
    assert found.helm == ("/x/helm",)
    assert found.kustomize_build == ("/x/kustomize", "build")


def test_path_then_cache(tmp_path: Path) -> None:
    bin_dir = tmp_path / "path"
    bin_dir.mkdir()
    write_script(bin_dir / "kustomize", "")
    for version in ("helm-v3.9.0", "helm-v3.19.0"):
        (tmp_path / "cache" / "bin" / version).mkdir(parents=True)
        write_script(tmp_path / "cache" / "bin" / version / "helm", "")
    found = tools.discover(environ={"PATH": str(bin_dir)}, cache_dir=tmp_path / "cache")
    assert found.kustomize_build == (str(bin_dir / "kustomize"), "build")
    assert found.helm == (str(tmp_path / "cache" / "bin" / "helm-v3.19.0" / "helm"),)


def test_kubectl_fallback(tmp_path: Path) -> None:
    found = tools.discover(
        environ={"PATH": "", "TIDEGATE_KUBECTL": "/k/kubectl"}, cache_dir=tmp_path
    )
    assert found.kustomize_build == ("/k/kubectl", "kustomize")
    assert found.helm is None
