"""``tidegate appset generate FILE`` against the test bed: list, clusters and git generators,
nothing applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.cli.appcli import Cli
from typer.testing import CliRunner

from tidegate.cli import main
from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


def _appset(name: str, generators: list[dict[str, object]], path: str) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": name},
        "spec": {"generators": generators, "template": {
            "metadata": {"name": "{{name}}-" + name},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://git.example.com/r.git", "path": path},
                     "destination": {"server": "{{server}}", "namespace": "web"}}}},
    }  # fmt: skip


def test_generate_prints_without_applying(
    cli: Cli,
    repo_url: str,
    testbed_handle: handle.TestBed,
    tmp_path: Path,
) -> None:
    ns = cli.ns
    file = tmp_path / "sets.yaml"
    listed = _appset("fixed", [{"list": {"elements": [
        {"name": "a", "server": "https://a.example"}, {"name": "b", "server": "https://b"}]}}],
        "apps/{{name}}")  # fmt: skip
    clusters = _appset("every", [{"clusters": {}}], "apps/web")
    git = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": "dirs"},
        "spec": {"generators": [{"git": {"repoURL": repo_url, "revision": "HEAD",
                                         "directories": [{"path": "*"}]}}],
                 "template": {"metadata": {"name": "dir-{{path.basename}}"},
                              "spec": {"project": "default",
                                       "source": {"repoURL": repo_url, "path": "{{path}}"},
                                       "destination": {"name": "dev", "namespace": "x"}}}},
    }  # fmt: skip
    file.write_text(yaml.safe_dump_all([listed, clusters, git]))
    common = ["--kubeconfig", str(testbed_handle.kubeconfig), "--context", "mgmt", "-n", ns,
              "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    result = CliRunner().invoke(main.app, ["appset", "generate", str(file), "-o", "json", *common])
    assert result.exit_code == 0, result.output
    apps = json.loads(result.stdout)
    by_name = {a["metadata"]["name"]: a for a in apps}
    assert by_name["a-fixed"]["spec"]["source"]["path"] == "apps/a"
    assert by_name["b-fixed"]["spec"]["destination"]["server"] == "https://b"
    # the clusters generator: the namespace's dev Secret and the in-cluster entry
    assert {"dev-every", "in-cluster-every"} <= set(by_name)
    assert by_name["dir-app"]["spec"]["source"]["path"] == "app"
    for app in apps:
        assert app["metadata"]["namespace"] == ns

    table = CliRunner().invoke(main.app, ["appset", "generate", str(file), *common])
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split()[:3] == ["NAME", "CLUSTER", "NAMESPACE"]

    assert not cli.exists("a-fixed")  # nothing was applied
    with testbed_handle.admin_client("mgmt") as mgmt:
        sets = mgmt.get(f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applicationsets").json()
    assert sets["items"] == []

    bad = tmp_path / "bad.yaml"
    broken = _appset("bad", [{"list": {"elements": [{"name": "x"}]}}], "{{ .nope }}")
    broken["spec"].update(goTemplate=True, goTemplateOptions=["missingkey=error"])  # type: ignore[attr-defined]
    broken["spec"]["template"]["metadata"]["name"] = "{{ .name }}"  # type: ignore[index]
    bad.write_text(yaml.safe_dump(broken))
    failed = CliRunner().invoke(main.app, ["appset", "generate", str(bad), *common])
    assert failed.exit_code in (1, 2) and "bad" in failed.stderr
