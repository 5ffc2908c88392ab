"""Helm sources through the real helm binary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tests.render.conftest import names, pid_alive, request, write_script

from tidegate import render
from tidegate.model import errors


def config(result: render.RenderResult) -> dict[str, Any]:
    cm = next(o for o in result.objects if o["kind"] == "ConfigMap")
    return dict(cm["data"])


async def test_defaults(repo: Path, tools: render.Tools) -> None:
    result = await render.render(request(repo, "helm/chart"), found=tools)
    assert result.source_type == render.SourceType.HELM
    # CRDs from crds/ included by default; the ServiceMonitor needs its API version
    assert names(result) == [
        "CustomResourceDefinition/widgets.example.com",
        "ConfigMap/demo-config",
        "Deployment/demo",
    ]
    cm = next(o for o in result.objects if o["kind"] == "ConfigMap")
    assert cm["metadata"]["namespace"] == "ns1"  # --namespace
    assert config(result)["greeting"] == "hello"


async def test_values_precedence(repo: Path, tools: render.Tools) -> None:
    options = render.HelmOptions(
        release_name="rel",
        value_files=("values-prod.yaml", "../envs/shared.yaml"),
        values="greeting: inline\nimage: busybox:1\n",
        parameters=(
            render.HelmParameter("greeting", "from-set"),
            render.HelmParameter("extra", "a,b"),
            render.HelmParameter("replicas", "7", force_string=True),
        ),
    )
    result = await render.render(request(repo, "helm/chart", helm=options), found=tools)
    assert "Deployment/rel" in names(result)  # release name
    data = config(result)
    assert data["greeting"] == "from-set"  # --set wins over values and files
    assert data["extra"] == "a,b"  # comma kept inside one --set value
    assert data["replicas"] == "7"
    assert data["replicasIsString"] == "true"  # --set-string
    deployment = next(o for o in result.objects if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1"


async def test_value_files_in_order(repo: Path, tools: render.Tools) -> None:
    options = render.HelmOptions(value_files=("../envs/shared.yaml", "values-prod.yaml"))
    result = await render.render(request(repo, "helm/chart", helm=options), found=tools)
    data = config(result)
    assert (data["greeting"], data["replicas"]) == ("from-shared-values", "3")
    assert data["replicasIsString"] == "false"


async def test_values_object_wins_over_values(repo: Path, tools: render.Tools) -> None:
    options = render.HelmOptions.with_values_object(
        {"greeting": "object"}, values="greeting: string\n"
    )
    result = await render.render(request(repo, "helm/chart", helm=options), found=tools)
    assert config(result)["greeting"] == "object"


async def test_skip_crds_api_versions_kube_version(repo: Path, tools: render.Tools) -> None:
    req = request(
        repo,
        "helm/chart",
        helm=render.HelmOptions(skip_crds=True),
        api_versions=("monitoring.coreos.com/v1", "example.com/v1"),
        kube_version="1.30.2",
    )
    result = await render.render(req, found=tools)
    assert names(result) == ["ConfigMap/demo-config", "Deployment/demo", "ServiceMonitor/demo"]
    assert config(result)["kubeVersion"] == "v1.30.2"


async def test_missing_value_file(repo: Path, tools: render.Tools) -> None:
    options = render.HelmOptions(value_files=("nope.yaml", "values-prod.yaml"))
    with pytest.raises(errors.RenderError, match=r"Helm value file 'nope\.yaml' not found"):
        await render.render(request(repo, "helm/chart", helm=options), found=tools)
    options = render.HelmOptions(
        value_files=("nope.yaml", "values-prod.yaml"), ignore_missing_value_files=True
    )
    result = await render.render(request(repo, "helm/chart", helm=options), found=tools)
    assert config(result)["replicas"] == "3"


async def test_remote_value_file_is_refused(repo: Path, tools: render.Tools) -> None:
    # a plain download is not a repository: only <repo URL>//<path> value files are fetched
    options = render.HelmOptions(value_files=("https://example.com/values.yaml",))
    with pytest.raises(errors.ReferenceRefusedError, match="where the repository ends"):
        await render.render(request(repo, "helm/chart", helm=options), found=tools)


async def test_helm_failure_shows_stderr(repo: Path, tools: render.Tools) -> None:
    (repo / "helm" / "chart" / "templates" / "broken.yaml").write_text(
        "{{ .Values.nope.deeper }}\n"
    )
    with pytest.raises(errors.RenderError) as info:
        await render.render(request(repo, "helm/chart"), found=tools)
    message = str(info.value)
    assert message.startswith("helm template helm/chart: failed with exit code 1: Error:")
    assert "broken.yaml" in message and "nil pointer" in message


async def test_chart_rendering_invalid_yaml(repo: Path, tools: render.Tools) -> None:
    (repo / "helm" / "chart" / "templates" / "bad.yaml").write_text("apiVersion: v1\n")
    with pytest.raises(errors.RenderError):
        await render.render(request(repo, "helm/chart"), found=tools)


async def test_helm_timeout_kills_the_process_group(
    repo: Path, tools: render.Tools, tmp_path: Path
) -> None:
    child_pid = tmp_path / "child.pid"
    slow = write_script(tmp_path / "slow-helm", f"sleep 60 &\necho $! > {child_pid}\nwait\n")
    found = render.Tools(kustomize_build=tools.kustomize_build, helm=(str(slow),))
    started = time.monotonic()
    with pytest.raises(errors.RenderTimeoutError, match="helm template helm/chart: did not finish"):
        await render.render(
            request(repo, "helm/chart"),
            found=found,
            limits=render.RenderLimits(timeout_seconds=0.5),
        )
    assert time.monotonic() - started < 10
    pid = int(child_pid.read_text())
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        await _tick()
    assert not pid_alive(pid), "the helm child's own children must be killed too"


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def test_output_over_the_limit(repo: Path, tools: render.Tools, tmp_path: Path) -> None:
    noisy = write_script(tmp_path / "noisy-helm", "exec yes 'apiVersion: v1'\n")
    found = render.Tools(kustomize_build=None, helm=(str(noisy),))
    with pytest.raises(errors.ManifestError, match="output exceeds the limit"):
        await render.render(
            request(repo, "helm/chart"),
            found=found,
            limits=render.RenderLimits(max_total_bytes=1_000_000),
        )


async def test_no_helm_binary(repo: Path) -> None:
    with pytest.raises(errors.RenderError, match="no helm binary found"):
        await render.render(
            request(repo, "helm/chart"), found=render.Tools(kustomize_build=None, helm=None)
        )


async def test_value_files_from_a_ref_source(
    repo: Path, tools: render.Tools, tmp_path: Path
) -> None:
    """Multi-source apps: ``$<ref>/path`` names a file in another source's tree."""
    values_tree = tmp_path / "values-repo"
    (values_tree / "envs").mkdir(parents=True)
    (values_tree / "envs" / "prod.yaml").write_text("greeting: from-ref\n")
    outside = tmp_path / "secret.yaml"
    outside.write_text("greeting: stolen\n")
    refs = (("values", values_tree),)
    options = render.HelmOptions(value_files=("$values/envs/prod.yaml",))
    result = await render.render(
        request(repo, "helm/chart", helm=options, ref_roots=refs), found=tools
    )
    assert config(result)["greeting"] == "from-ref"

    unknown = render.HelmOptions(value_files=("$other/envs/prod.yaml",))
    with pytest.raises(errors.RenderError, match=r"no source has ref 'other' \(refs: values\)"):
        await render.render(request(repo, "helm/chart", helm=unknown, ref_roots=refs), found=tools)
    escape = render.HelmOptions(value_files=("$values/../secret.yaml",))
    with pytest.raises(errors.PathEscapeError, match="resolves outside the repository"):
        await render.render(request(repo, "helm/chart", helm=escape, ref_roots=refs), found=tools)


async def test_file_parameters_namespace_and_schema_flag(repo: Path, tools: render.Tools) -> None:
    options = render.HelmOptions(
        file_parameters=(("extra", "../envs/shared.yaml"),),
        namespace="helm-ns",
        skip_schema_validation=True,
    )
    result = await render.render(request(repo, "helm/chart", helm=options), found=tools)
    cm = next(o for o in result.objects if o["kind"] == "ConfigMap")
    assert cm["metadata"]["namespace"] == "helm-ns"  # helm.namespace wins over the destination
    shared = (repo / "helm" / "envs" / "shared.yaml").read_text()
    assert config(result)["extra"] == shared  # --set-file: the file's text as the value


async def test_file_parameter_outside_the_repository_is_refused(
    repo: Path, tools: render.Tools
) -> None:
    options = render.HelmOptions(file_parameters=(("extra", "../../../../etc/passwd"),))
    with pytest.raises(errors.PathEscapeError, match="Helm file"):
        await render.render(request(repo, "helm/chart", helm=options), found=tools)
    missing = render.HelmOptions(file_parameters=(("extra", "nope.txt"),))
    with pytest.raises(errors.RenderError, match=r"Helm file 'nope\.txt' not found"):
        await render.render(request(repo, "helm/chart", helm=missing), found=tools)
