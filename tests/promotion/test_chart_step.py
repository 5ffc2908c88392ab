"""``helm-update-chart`` against the test bed's real OCI registry with the real ``helm``: the
dependency's version changes in Chart.yaml, and the dependency build writes Chart.lock and the
packaged chart of that version, with the project's helm credentials (the registry needs them)."""

from __future__ import annotations

import asyncio
import secrets
import tarfile
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from tidegate.kube import client as kube_client
from tidegate.promotion import chart_step, steps
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd
from tidegate.testenv import handle, registry

pytestmark = pytest.mark.e2e


def _chart(root: Path, name: str, version: str) -> Path:
    root.mkdir(parents=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (root / "templates").mkdir()
    (root / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {v: '" + version + "'}\n"
    )
    return root


def _context(workdir: Path, info: registry.RegistryInfo, *, with_creds: bool) -> steps.StepContext:
    async def helm_creds(url: str) -> creds_mod.RepoCredentials | None:
        if not with_creds or info.address not in url:
            return None
        return creds_mod.RepoCredentials(info.username, info.password, source="test")

    async def no_git_creds(url: str) -> creds_mod.RepoCredentials | None:
        return None

    return steps.StepContext(
        project="p",
        stage="dev",
        promotion="p1",
        workdir=workdir,
        git=gitcmd.GitRunner(state_dir=workdir.parent / "git-state"),
        creds=no_git_creds,
        kube=cast(kube_client.KubeClient, None),  # helm-update-chart never reads the cluster
        freights=[],
        helm_creds=helm_creds,
    )


def test_helm_update_chart_sets_the_version_and_builds_dependencies(
    testbed_handle: handle.TestBed, tmp_path: Path
) -> None:
    info = registry.RegistryInfo.load(testbed_handle.directory)
    prefix = f"charts-{secrets.token_hex(3)}"
    for version in ("1.0.0", "1.1.0"):
        url = registry.push_chart_oci(
            info, _chart(tmp_path / f"src-{version}", "app", version), prefix=prefix
        )
    workdir = tmp_path / "work"
    umbrella = workdir / "env" / "dev"
    umbrella.mkdir(parents=True)
    (umbrella / "Chart.yaml").write_text(
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\n"
        f"dependencies:\n  - name: app\n    repository: {url}\n    version: 1.0.0\n"
    )
    config: dict[str, Any] = {
        "path": "env/dev",
        "charts": [{"repository": url, "name": "app", "version": "1.1.0"}],
    }
    out = asyncio.run(
        chart_step.helm_update_chart(_context(workdir, info, with_creds=True), config)
    )
    assert "app: 1.0.0 -> 1.1.0" in out["commitMessage"]
    chart = yaml.safe_load((umbrella / "Chart.yaml").read_text())
    assert chart["dependencies"][0]["version"] == "1.1.0"
    lock = yaml.safe_load((umbrella / "Chart.lock").read_text())
    assert [(d["name"], d["version"]) for d in lock["dependencies"]] == [("app", "1.1.0")]
    with tarfile.open(umbrella / "charts" / "app-1.1.0.tgz") as tar:
        member = tar.extractfile("app/Chart.yaml")
        assert member is not None and b"version: 1.1.0" in member.read()


def test_helm_update_chart_without_credentials_fails_without_the_password(
    testbed_handle: handle.TestBed, tmp_path: Path
) -> None:
    info = registry.RegistryInfo.load(testbed_handle.directory)
    prefix = f"charts-{secrets.token_hex(3)}"
    url = registry.push_chart_oci(info, _chart(tmp_path / "src", "app", "1.0.0"), prefix=prefix)
    workdir = tmp_path / "work"
    (workdir / "c").mkdir(parents=True)
    (workdir / "c" / "Chart.yaml").write_text(
        "apiVersion: v2\nname: u\nversion: 0.1.0\n"
        f"dependencies:\n  - name: app\n    repository: {url}\n    version: 0.9.0\n"
    )
    config = {"path": "c", "charts": [{"repository": url, "name": "app", "version": "1.0.0"}]}
    with pytest.raises(steps.StepError, match="helm dependency update of c") as caught:
        asyncio.run(chart_step.helm_update_chart(_context(workdir, info, with_creds=False), config))
    assert info.password not in str(caught.value)
    with pytest.raises(steps.StepError, match="no dependency 'other'"):
        bad = {"path": "c", "charts": [{"repository": url, "name": "other", "version": "1"}]}
        asyncio.run(chart_step.helm_update_chart(_context(workdir, info, with_creds=True), bad))
